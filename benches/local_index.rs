//! Benchmark: the local index of a fleet of 1,000 vaults × 1,000 secrets (a million rows of metadata).
//! Bounds of the index issue: reading and decrypting it at launch ≤ 300 ms; the first frame, with the
//! tree, the last vault's rows and Ctrl+K over every indexed vault ready, ≤ 0.3 s after start (start:
//! before the index is read); ≤ 100 MB on disk; peak RSS within the house issue's bound for a million
//! items (≤ 300 MiB, `VmHWM`). Also printed: the time to write it, and a Ctrl+K search over all of it.
//! The window runs on the CPU (`Context::run_ui` plus tessellation) on a fake worker whose sign-in never
//! answers, so everything shown comes from the index.
//!
//! Run with `cargo bench --bench local_index`. Exits non-zero when a bound is missed.

mod fleet;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet::{item, peak_rss_mib};

use egui::{Event, Pos2, RawInput, Rect, vec2};
use vaultscope::azure::identifiers::VaultUri;
use vaultscope::azure::models::ListKind;
use vaultscope::local_index::model::{IndexedSubscription, IndexedVaultSummary};
use vaultscope::local_index::{IndexIdentity, IndexKey, IndexManifest, IndexStore, IndexedVault};
use vaultscope::ui::VaultscopeApp;
use vaultscope::ui::state::vault_index::VaultContents;
use vaultscope::ui::state::{IndexMode, Intent, LoadStatus, SearchIntent};
use vaultscope::worker::protocol::FailureReason;
use vaultscope::worker::reply::Reply;
use vaultscope::worker::runner::{CommandRunner, spawn_with_runner};
use vaultscope::worker::{Command, SignInMethod};

const VAULTS: usize = 1_000;
const ITEMS_PER_VAULT: usize = 1_000;
const CLOUD: &str = "bench";

/// A worker whose sign-in never answers within the benchmark: what the window shows is the index's.
struct NeverSignsIn;

impl CommandRunner for NeverSignsIn {
    fn run<'a>(
        &'a self,
        command: Command,
        _reply: &'a Reply,
    ) -> Pin<Box<dyn Future<Output = Result<(), FailureReason>> + Send + 'a>> {
        Box::pin(async move {
            if let Command::SignIn(_) = command {
                tokio::time::sleep(Duration::from_secs(3_600)).await;
            }
            Ok(())
        })
    }
}

fn vault_uri(index: usize) -> VaultUri {
    VaultUri::parse(&format!("https://kv-fleet-{index:04}.vault.azure.net/")).expect("uri")
}

/// One vault as a load in a run leaves it, in the index's shape.
fn indexed_vault(index: usize) -> IndexedVault {
    let uri = vault_uri(index);
    let mut contents = VaultContents::default();
    contents.begin_load();
    contents.add_page(
        ListKind::default(),
        (0..ITEMS_PER_VAULT).map(|row| item(&uri, row)).collect(),
    );
    for list in ListKind::ALL {
        contents.end_list(list, None);
    }
    contents.end_load(LoadStatus::Loaded);
    IndexedVault {
        uri: uri.as_str().to_owned(),
        last_used: index as i64,
        lists: contents
            .lists
            .iter()
            .map(|list| list.to_indexed())
            .collect(),
        versions: Vec::new(),
    }
}

fn manifest() -> IndexManifest {
    IndexManifest {
        saved_at: 1_780_000_000,
        subscriptions: vec![IndexedSubscription {
            subscription_id: "s1".into(),
            tenant_id: "t1".into(),
            display_name: "Bench".into(),
            state: "Enabled".into(),
            listed_in_tenant: None,
            vaults: (0..VAULTS)
                .map(|index| {
                    let uri = vault_uri(index);
                    IndexedVaultSummary {
                        name: uri.name().to_owned(),
                        uri: uri.as_str().to_owned(),
                        subscription_id: Some("s1".into()),
                        resource_group: Some("rg".into()),
                        location: "westeurope".into(),
                        arm_id: None,
                        tenant_id: None,
                        sku: None,
                        rbac: Some(true),
                        soft_delete: Some(true),
                        retention_days: Some(90),
                        purge_protection: None,
                        public_network_access: None,
                    }
                })
                .collect(),
        }],
        subscriptions_as_of: Some(1_780_000_000),
        selected_vault: Some(vault_uri(0).as_str().to_owned()),
        ..IndexManifest::default()
    }
}

fn directory_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                total += entry.metadata().map_or(0, |metadata| metadata.len());
            }
        }
    }
    total
}

fn frame(ctx: &egui::Context, app: &mut VaultscopeApp, events: Vec<Event>, started: Instant) {
    let input = RawInput {
        screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1280.0, 800.0))),
        events,
        time: Some(started.elapsed().as_secs_f64()),
        ..RawInput::default()
    };
    let output = ctx.run_ui(input, |ui| {
        app.drain_events();
        app.frame_ui(ui);
    });
    std::hint::black_box(ctx.tessellate(output.shapes, output.pixels_per_point));
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

fn verdict(met: bool) -> &'static str {
    if met { "ok" } else { "MISSED" }
}

fn main() {
    let dir = std::env::temp_dir().join(format!("vaultscope-bench-index-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let key = IndexKey::random();
    let key_copy_for_reading = {
        // The same key for the reading store: one store writes, a fresh one reads, as two launches do.
        let store = IndexStore::new(dir.clone(), key);
        let identity = IndexIdentity {
            cloud: CLOUD.into(),
            tenant_id: "t1".into(),
            object_id: "o1".into(),
        };
        let mut write_time = Duration::ZERO;
        for index in 0..VAULTS {
            let vault = indexed_vault(index);
            let started = Instant::now();
            store.save_vault(&identity, &vault).expect("saved");
            write_time += started.elapsed();
        }
        store.save_manifest(&identity, &manifest()).expect("saved");
        println!(
            "local index: {VAULTS} vaults x {ITEMS_PER_VAULT} secrets written (sealed and saved) in {:.0} ms",
            ms(write_time)
        );
        store
    };
    let disk_mib = directory_bytes(&dir) as f64 / (1024.0 * 1024.0);

    // The launch: read and decrypt, then the window's first frame with Ctrl+K open.
    let start = Instant::now();
    let last = key_copy_for_reading
        .last_identity_dir(CLOUD)
        .expect("the last identity");
    let loaded = key_copy_for_reading.load_dir(&last);
    let load_time = start.elapsed();
    assert_eq!(loaded.vaults.len(), VAULTS, "{:?}", loaded.set_aside);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (worker, events) =
        spawn_with_runner(runtime.handle(), Arc::new(NeverSignsIn), Arc::new(|| {}));
    let mut app = VaultscopeApp::new(
        worker,
        events,
        SignInMethod::AzureCli { tenant_id: None },
        CLOUD,
    )
    .with_local_index(
        IndexMode::On(dir.display().to_string()),
        CLOUD,
        Some((last, loaded)),
    );
    let ctx = egui::Context::default();
    frame(&ctx, &mut app, Vec::new(), start);
    let first_frame = start.elapsed();
    // Ctrl+K in the next frame, over every indexed vault: one name in each.
    app.apply_intent(Intent::Search(SearchIntent::Open));
    app.apply_intent(Intent::Search(SearchIntent::SetQuery(
        "service-000500".into(),
    )));
    let shown_rows = app
        .state()
        .selected_list_rows()
        .map_or(0, |rows| rows.len());
    let tree_vaults = app.state().tree.known_vaults().len();
    let ready = shown_rows == ITEMS_PER_VAULT && tree_vaults == VAULTS;

    // Ctrl+K over all of it: one name in every vault.
    let search_started = Instant::now();
    frame(
        &ctx,
        &mut app,
        vec![Event::Text("service-000500".into())],
        start,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.state().search.searching() {
        assert!(Instant::now() < deadline, "the search ends");
        frame(&ctx, &mut app, Vec::new(), start);
    }
    let search_time = search_started.elapsed();
    let found = app.state().search.results.total;
    let rss = peak_rss_mib();

    let load_bound = Duration::from_millis(300);
    let frame_bound = Duration::from_millis(300);
    let disk_bound = 100.0;
    let rss_bound = 300.0;
    println!(
        "  read and decrypt at launch:      {:>7.1} ms   bound {:>5.0} ms   {}",
        ms(load_time),
        ms(load_bound),
        verdict(load_time <= load_bound)
    );
    println!(
        "  first frame, Ctrl+K ready:       {:>7.1} ms after start ({tree_vaults} vaults in the tree, {shown_rows} rows shown)   bound {:>5.0} ms   {}",
        ms(first_frame),
        ms(frame_bound),
        verdict(first_frame <= frame_bound && ready)
    );
    println!(
        "  on disk:                         {disk_mib:>7.1} MiB  bound {disk_bound:>5.0} MiB  {}",
        verdict(disk_mib <= disk_bound)
    );
    println!(
        "  Ctrl+K 'service-000500' over {} rows, in the next frames: {found} found in {:.1} ms (5 ms slices a frame; all {VAULTS} at {:.1} ms after start)   {}",
        VAULTS * ITEMS_PER_VAULT,
        ms(search_time),
        ms(first_frame + search_time),
        verdict(found == VAULTS)
    );
    let rss_met = match rss {
        Some(rss) => {
            println!(
                "  peak RSS (writing, then reading): {rss:>6.1} MiB  bound {rss_bound:>5.0} MiB  {}",
                verdict(rss <= rss_bound)
            );
            rss <= rss_bound
        }
        None => {
            println!("  peak RSS: not measurable here (no /proc)");
            true
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    let met = load_time <= load_bound
        && first_frame <= frame_bound
        && ready
        && disk_mib <= disk_bound
        && found == VAULTS
        && rss_met;
    if !met {
        eprintln!("local_index: a bound was missed");
        std::process::exit(1);
    }
}
