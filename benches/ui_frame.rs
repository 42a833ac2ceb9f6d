//! Benchmark: the explorer window with 100,000 secrets loaded in one vault (a fake worker delivers them) and
//! one of them selected, measured on the CPU without a GPU: `Context::run_ui` plus tessellation, at
//! 1280 × 800.
//! Bounds of the explorer issue: with a filter applied a frame costs ≤ 4 ms; a keystroke in the filter
//! updates the list in ≤ 10 ms (the frame that applies it); an idle app requests no repaint. The Ctrl+K
//! search keystroke over the same 100,000 items is printed too, against the keystroke bound.
//! Bounds of the house issue: peak RSS with those 100,000 items loaded ≤ 150 MB; then a fleet of 1,000
//! vaults × 1,000 secrets (a million items, loaded with "Load all"): each Ctrl+K keystroke ≤ 10 ms and peak
//! RSS ≤ 300 MB (MiB, from `VmHWM`; the fake worker pages like a quick service so the channel never holds
//! the whole fleet).
//!
//! Run with `cargo bench --bench ui_frame`. Exits non-zero when a bound is missed.

mod fleet;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet::{item, peak_rss_mib};

use egui::{Event, Pos2, RawInput, Rect, ViewportId, vec2};
use vaultscope::auth::SignedInIdentity;
use vaultscope::azure::identifiers::VaultUri;
use vaultscope::azure::models::{ListKind, Subscription, VaultProperties, VaultSummary};
use vaultscope::ui::VaultscopeApp;
use vaultscope::ui::state::{Intent, ObjectsIntent, SearchIntent, TreeIntent};
use vaultscope::worker::protocol::FailureReason;
use vaultscope::worker::reply::Reply;
use vaultscope::worker::runner::{CommandRunner, spawn_with_runner};
use vaultscope::worker::{Command, EventKind, SignInMethod};

const ITEMS: usize = 100_000;
const VAULT: &str = "https://kv-huge.vault.azure.net/";
const FRAMES: usize = 300;
/// The fleet: 1,000 vaults × 1,000 secrets.
const FLEET_VAULTS: usize = 1_000;
const FLEET_ITEMS_PER_VAULT: usize = 1_000;

/// Answers the app's commands from memory: one subscription with `vaults` vaults of `items_per_vault`
/// secrets each, paged like a service: `page_rows` a page, `page_pause` apart, `at_once` vaults at a time.
/// Paced, so the window takes rows in as they come instead of a million waiting in the channel (which
/// would be the fake's memory, not the app's).
struct FakeFleet {
    vaults: usize,
    items_per_vault: usize,
    page_rows: usize,
    page_pause: Duration,
    loading: tokio::sync::Semaphore,
}

impl FakeFleet {
    /// One big vault, delivered quickly: 500 rows every 2 ms.
    fn one_vault(items: usize) -> Self {
        Self::new(1, items, 500, Duration::from_millis(2), 1)
    }

    /// A fleet as Key Vault pages it: 25 rows every 10 ms, 64 vaults at once (the adaptive bound's start).
    fn fleet(vaults: usize, items_per_vault: usize) -> Self {
        Self::new(vaults, items_per_vault, 25, Duration::from_millis(10), 64)
    }

    fn new(
        vaults: usize,
        items_per_vault: usize,
        page_rows: usize,
        page_pause: Duration,
        at_once: usize,
    ) -> Self {
        Self {
            vaults,
            items_per_vault,
            page_rows,
            page_pause,
            loading: tokio::sync::Semaphore::new(at_once),
        }
    }

    fn send_vaults(&self, reply: &Reply) {
        reply.send(EventKind::VaultsPage {
            subscription_id: "s1".into(),
            vaults: (0..self.vaults)
                .map(|index| {
                    let uri = self.vault_uri(index);
                    VaultSummary {
                        name: uri.name().to_owned(),
                        uri,
                        subscription_id: Some("s1".into()),
                        resource_group: Some("rg".into()),
                        location: "westeurope".into(),
                        arm_id: None,
                        properties: VaultProperties::default(),
                    }
                })
                .collect(),
        });
    }

    fn vault_uri(&self, index: usize) -> VaultUri {
        if self.vaults == 1 {
            VaultUri::parse(VAULT).expect("uri")
        } else {
            VaultUri::parse(&format!("https://kv-fleet-{index:04}.vault.azure.net/")).expect("uri")
        }
    }
}

impl CommandRunner for FakeFleet {
    fn run<'a>(
        &'a self,
        command: Command,
        reply: &'a Reply,
    ) -> Pin<Box<dyn Future<Output = Result<(), FailureReason>> + Send + 'a>> {
        Box::pin(async move {
            match command {
                Command::SignIn(_) => {
                    let mut identity = SignedInIdentity::default();
                    identity.name = Some("Bench Operator".into());
                    reply.send(EventKind::SignedIn(identity));
                }
                Command::ListSubscriptions => {
                    let subscription: Subscription = serde_json::from_value(serde_json::json!({
                        "subscriptionId": "s1", "displayName": "Bench", "tenantId": "t1"
                    }))
                    .expect("subscription");
                    reply.send(EventKind::SubscriptionsPage(vec![subscription]));
                }
                Command::DiscoverVaults { .. } => {
                    self.send_vaults(reply);
                    reply.send(EventKind::SubscriptionVaultsListed {
                        subscription_id: "s1".into(),
                        error: None,
                    });
                }
                Command::ListVaults { .. } => self.send_vaults(reply),
                Command::LoadVault { vault } => {
                    let _slot = self.loading.acquire().await;
                    for start in (0..self.items_per_vault).step_by(self.page_rows) {
                        let end = (start + self.page_rows).min(self.items_per_vault);
                        let items = (start..end).map(|index| item(&vault, index)).collect();
                        reply.send(EventKind::ObjectsPage {
                            vault: vault.clone(),
                            list: ListKind::default(),
                            items,
                        });
                        tokio::time::sleep(self.page_pause).await;
                    }
                    for list in ListKind::ALL {
                        reply.send(EventKind::ListEnded {
                            vault: vault.clone(),
                            list,
                            error: None,
                        });
                    }
                }
                _ => {}
            }
            Ok(())
        })
    }
}

/// A typed text, or Backspace for `"\u{8}"`.
fn typed(text: &str) -> Event {
    if text == "\u{8}" {
        Event::Key {
            key: egui::Key::Backspace,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: egui::Modifiers::NONE,
        }
    } else {
        Event::Text(text.into())
    }
}

struct Window {
    ctx: egui::Context,
    /// Real time goes into every frame, so animations end as they do in the window.
    started: Instant,
    app: VaultscopeApp,
    _runtime: tokio::runtime::Runtime,
}

impl Window {
    fn input(&self, events: Vec<Event>) -> RawInput {
        RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1280.0, 800.0))),
            events,
            time: Some(self.started.elapsed().as_secs_f64()),
            ..RawInput::default()
        }
    }

    /// One frame with `events`: the time of layout and tessellation, and the repaint delay asked for.
    fn frame(&mut self, events: Vec<Event>) -> (Duration, Duration) {
        let input = self.input(events);
        let started = Instant::now();
        let app = &mut self.app;
        let output = self.ctx.run_ui(input, |ui| {
            app.drain_events();
            app.frame_ui(ui);
        });
        let primitives = self.ctx.tessellate(output.shapes, output.pixels_per_point);
        let elapsed = started.elapsed();
        std::hint::black_box(primitives);
        let repaint = output
            .viewport_output
            .get(&ViewportId::ROOT)
            .map_or(Duration::MAX, |viewport| viewport.repaint_delay);
        (elapsed, repaint)
    }
}

impl Window {
    /// A window on a fake worker answering from `fleet`, signed in, with the tree there.
    fn open(fleet: FakeFleet) -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let (worker, events) =
            spawn_with_runner(runtime.handle(), Arc::new(fleet), Arc::new(|| {}));
        let app = VaultscopeApp::new(
            worker,
            events,
            SignInMethod::AzureCli { tenant_id: None },
            "bench",
        );
        let mut window = Window {
            ctx: egui::Context::default(),
            started: Instant::now(),
            app,
            _runtime: runtime,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while window.app.state().tree.known_vaults().is_empty() {
            assert!(Instant::now() < deadline, "the fake tree arrives");
            window.frame(Vec::new());
            std::thread::sleep(Duration::from_millis(5));
        }
        window
    }

    /// Runs frames (as the window would, a millisecond apart) until `done`.
    fn frames_until(&mut self, what: &str, done: impl Fn(&VaultscopeApp) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while !done(&self.app) {
            assert!(Instant::now() < deadline, "{what}");
            self.frame(Vec::new());
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn main() {
    let mut window = Window::open(FakeFleet::one_vault(ITEMS));
    let vault = VaultUri::parse(VAULT).expect("uri");
    window
        .app
        .apply_intent(Intent::Tree(TreeIntent::SelectVault(vault.clone())));
    window.frames_until("100,000 secrets arrive", |app| {
        app.state()
            .tree
            .vaults
            .get(&vault)
            .is_some_and(|contents| contents.loaded_at.is_some())
    });
    let loaded = window
        .app
        .state()
        .selected_list_rows()
        .map_or(0, |rows| rows.len());
    assert_eq!(loaded, ITEMS);
    let rss_100k = peak_rss_mib();

    // Idle: once animations have ended (half a second of settling frames, as the window would paint
    // them), ten frames without input ask for no repaint.
    for _ in 0..10 {
        window.frame(Vec::new());
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut idle_repaint = Duration::MAX;
    let mut causes = Vec::new();
    for _ in 0..10 {
        let (_, repaint) = window.frame(Vec::new());
        if repaint < idle_repaint {
            idle_repaint = repaint;
            causes = window.ctx.repaint_causes();
        }
    }

    // Type "7" into the focused filter: the frame that applies the keystroke.
    window.ctx.memory_mut(|memory| {
        memory.request_focus(vaultscope::ui::objects_panel::filter_field_id())
    });
    window.frame(Vec::new());
    let mut keystrokes = Vec::new();
    for text in ["7", "7", "\u{8}", "\u{8}"] {
        let event = typed(text);
        let (elapsed, _) = window.frame(vec![event]);
        keystrokes.push(elapsed);
        window.frame(Vec::new());
    }
    let (keystroke, _) = window.frame(vec![Event::Text("7".into())]);
    keystrokes.push(keystroke);
    let filter = window.app.state().objects.filter.clone();
    assert_eq!(filter, "7", "the keystrokes reached the filter");
    let shown = window.app.state().filtered_indices().len();
    assert!(shown > 0 && shown < ITEMS, "the filter narrows: {shown}");

    // A selected secret (details panel open), then frames with the filter applied, the pointer moving
    // over the rows.
    let selected = window.app.state().selected_list_rows().and_then(|rows| {
        let index = *window.app.state().filtered_indices().get(shown / 2)?;
        Some(rows.name(index).to_owned())
    });
    window
        .app
        .apply_intent(Intent::Objects(ObjectsIntent::SelectObject(
            selected.expect("a row to select"),
        )));
    window.frame(Vec::new());
    assert!(window.app.state().selected_item().is_some(), "details open");
    let mut frames = Vec::with_capacity(FRAMES);
    for index in 0..FRAMES {
        let position = Pos2::new(500.0, 200.0 + (index % 400) as f32);
        let (elapsed, _) = window.frame(vec![Event::PointerMoved(position)]);
        frames.push(elapsed);
    }
    frames.sort();
    let frame_median = frames[frames.len() / 2];
    let frame_p95 = frames[frames.len() * 95 / 100];

    // Ctrl+K search over all 100,000 items: the keystroke frame.
    window.app.apply_intent(Intent::Search(SearchIntent::Open));
    window.frame(Vec::new());
    window.frame(Vec::new());
    let mut searches = Vec::new();
    for text in ["a", "p", "i"] {
        let (elapsed, _) = window.frame(vec![Event::Text(text.into())]);
        searches.push(elapsed);
    }
    let search_total = window.app.state().search.results.total;
    assert_eq!(window.app.state().search.query, "api");
    assert_eq!(search_total, ITEMS, "every name has 'api'");

    keystrokes.sort();
    searches.sort();
    drop(window);
    let fleet = fleet_search();

    let keystroke_worst = *keystrokes.last().expect("keystrokes");
    let search_worst = *searches.last().expect("searches");
    let frame_bound = Duration::from_millis(4);
    let keystroke_bound = Duration::from_millis(10);
    println!(
        "explorer UI with {ITEMS} secrets loaded, filter \"7\" showing {shown} (CPU: layout + tessellation, 1280 × 800)"
    );
    println!(
        "  frame with the filter applied: median {:>6.2} ms   p95 {:>6.2} ms   bound {:>5.2} ms   {}",
        ms(frame_median),
        ms(frame_p95),
        ms(frame_bound),
        verdict(frame_median <= frame_bound)
    );
    println!(
        "  filter keystroke frame:        worst {:>6.2} ms of {}   bound {:>5.2} ms   {}",
        ms(keystroke_worst),
        keystrokes.len(),
        ms(keystroke_bound),
        verdict(keystroke_worst <= keystroke_bound)
    );
    println!(
        "  Ctrl+K search keystroke frame: worst {:>6.2} ms of {} ({search_total} matches)   bound {:>5.2} ms   {}",
        ms(search_worst),
        searches.len(),
        ms(keystroke_bound),
        verdict(search_worst <= keystroke_bound)
    );
    let idle = idle_repaint == Duration::MAX;
    if !idle {
        println!("  repaint causes: {causes:?}");
    }
    println!(
        "  idle app: repaint requested {}   bound: none   {}",
        if idle {
            "never".to_owned()
        } else {
            format!("after {idle_repaint:?}")
        },
        verdict(idle)
    );
    let rss_100k_met = memory_line(
        &format!("peak RSS with {ITEMS} items loaded"),
        rss_100k,
        150.0,
    );
    println!(
        "fleet: {FLEET_VAULTS} vaults × {FLEET_ITEMS_PER_VAULT} secrets = {} items loaded in {:.1} s",
        FLEET_VAULTS * FLEET_ITEMS_PER_VAULT,
        fleet.load_time.as_secs_f64()
    );
    for keystroke in &fleet.keystrokes {
        println!(
            "  Ctrl+K keystroke frame, query {:<8} {:>6.2} ms   bound {:>5.2} ms   {}   (all {} matches counted after {} frames, {:.1} ms)",
            format!("{:?}:", keystroke.query),
            ms(keystroke.frame),
            ms(keystroke_bound),
            verdict(keystroke.frame <= keystroke_bound),
            keystroke.total,
            keystroke.frames,
            ms(keystroke.complete)
        );
    }
    let fleet_search_met = fleet
        .keystrokes
        .iter()
        .all(|keystroke| keystroke.frame <= keystroke_bound);
    let rss_fleet_met = memory_line(
        &format!("peak RSS at {} items", FLEET_VAULTS * FLEET_ITEMS_PER_VAULT),
        fleet.peak_rss,
        300.0,
    );
    let met = frame_median <= frame_bound
        && keystroke_worst <= keystroke_bound
        && search_worst <= keystroke_bound
        && idle
        && rss_100k_met
        && fleet_search_met
        && rss_fleet_met;
    if !met {
        std::process::exit(1);
    }
}

/// Prints a memory figure beside its bound (MiB); true when met (or when it cannot be read here).
fn memory_line(what: &str, figure: Option<f64>, bound: f64) -> bool {
    match figure {
        Some(mib) => {
            println!(
                "  {what}: {mib:>6.1} MiB   bound {bound:.0} MiB   {}",
                verdict(mib <= bound)
            );
            mib <= bound
        }
        None => {
            println!("  {what}: not measured (no /proc/self/status here)");
            true
        }
    }
}

/// What the fleet phase measured.
struct FleetFigures {
    load_time: Duration,
    keystrokes: Vec<FleetKeystroke>,
    peak_rss: Option<f64>,
}

/// One Ctrl+K keystroke over the fleet: its frame, and when (after how many frames) the count was whole.
struct FleetKeystroke {
    query: String,
    frame: Duration,
    complete: Duration,
    frames: usize,
    total: usize,
}

/// A fleet-sized metadata index: every vault loaded ("Load all"), then Ctrl+K keystrokes over a million
/// items — a name query typed letter by letter, then a tag value.
fn fleet_search() -> FleetFigures {
    let mut window = Window::open(FakeFleet::fleet(FLEET_VAULTS, FLEET_ITEMS_PER_VAULT));
    let started = Instant::now();
    window
        .app
        .apply_intent(Intent::Tree(TreeIntent::LoadAllVaults));
    window.frames_until("the fleet loads", |app| {
        let (loading, loaded) = app.state().tree.load_progress();
        loading == 0 && loaded == FLEET_VAULTS
    });
    let load_time = started.elapsed();
    window.app.apply_intent(Intent::Search(SearchIntent::Open));
    window.frame(Vec::new());
    window.frame(Vec::new());
    let mut keystrokes = Vec::new();
    for text in [
        "0", "0", "7", "\u{8}", "\u{8}", "\u{8}", "t", "e", "a", "m", "-", "7",
    ] {
        let event = typed(text);
        let started = Instant::now();
        let (elapsed, _) = window.frame(vec![event]);
        // A big search goes on over the next frames: the time until its count is complete.
        let mut frames = 1;
        while window.app.state().search.searching() {
            window.frame(Vec::new());
            frames += 1;
        }
        let search = &window.app.state().search;
        keystrokes.push(FleetKeystroke {
            query: search.query.clone(),
            frame: elapsed,
            complete: started.elapsed(),
            frames,
            total: search.results.total,
        });
    }
    assert_eq!(window.app.state().search.query, "team-7");
    FleetFigures {
        load_time,
        keystrokes,
        peak_rss: peak_rss_mib(),
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

fn verdict(met: bool) -> &'static str {
    if met { "bound met" } else { "BOUND MISSED" }
}
