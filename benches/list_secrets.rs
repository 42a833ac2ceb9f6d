//! Benchmark: list the 5,000-secret vault through the real worker (HTTPS, paging, events) against the
//! emulator with 10 ms of latency per request, and compare with the bound of the explorer issue:
//! ≤ 1.15 × (pages × 10 ms). Paging is sequential by nature (each page names the next), so the bound
//! says our own overhead per page must stay under 1.5 ms.
//!
//! Run with `cargo bench --bench list_secrets`. Prints each figure beside its bound and exits non-zero
//! when a bound is missed.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use vaultscope::azure::models::ListKind;
use vaultscope::emulator::{Emulator, EmulatorConfig};
use vaultscope::worker::{
    Command, Event, EventKind, Outcome, RequestId, SessionSettings, SignInMethod, spawn_worker,
};

const LATENCY: Duration = Duration::from_millis(10);
const BIG_VAULT: &str = "kv-loadtest-5k";
const RUNS: usize = 7;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut config = EmulatorConfig::demo().expect("demo seed");
    config.latency = LATENCY;
    let emulator = runtime
        .block_on(Emulator::start(config))
        .expect("emulator starts");
    let settings = SessionSettings::new(emulator.cloud_profile().expect("local profile"));
    let (worker, events) = spawn_worker(runtime.handle(), settings, Arc::new(|| {}));

    let sign_in = worker.send(Command::SignIn(SignInMethod::DeviceCode {
        tenant: emulator.demo_tenant_id(),
        client_id: "00000000-0000-0000-0000-0000000000bb".into(),
    }));
    expect_done(&events, sign_in);

    let vault = vaultscope::azure::identifiers::VaultUri::parse(&format!(
        "https://{BIG_VAULT}.vault.localhost:{}/",
        emulator.port()
    ))
    .expect("vault uri");

    // The first listing also pays for the challenge and the Key Vault token; it is the warm-up.
    let mut timings = Vec::with_capacity(RUNS);
    let mut pages = 0;
    for run in 0..=RUNS {
        let started = Instant::now();
        let id = worker.send(Command::LoadVault {
            vault: vault.clone(),
        });
        let (page_count, secrets) = count_pages(&events, id);
        let elapsed = started.elapsed();
        assert_eq!(secrets, 5_000, "every secret of {BIG_VAULT} listed");
        pages = page_count;
        if run > 0 {
            timings.push(elapsed);
        }
    }
    timings.sort();
    let median = timings[timings.len() / 2];
    let best = timings[0];
    let bound = LATENCY.mul_f64(pages as f64 * 1.15);
    let floor = LATENCY * pages as u32;
    println!(
        "list {BIG_VAULT}: 5000 secrets in {pages} pages at {} ms latency",
        LATENCY.as_millis()
    );
    println!(
        "  median {:>7.1} ms   best {:>7.1} ms   floor (pages × latency) {:>7.1} ms   bound {:>7.1} ms   overhead/page {:.2} ms",
        ms(median),
        ms(best),
        ms(floor),
        ms(bound),
        (ms(median) - ms(floor)) / pages as f64
    );
    let met = median <= bound;
    println!("  {}", if met { "bound met" } else { "BOUND MISSED" });
    emulator.shutdown();
    if !met {
        std::process::exit(1);
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

fn expect_done(events: &Receiver<Event>, id: RequestId) {
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(60))
            .expect("worker answers");
        if event.request_id == id
            && let EventKind::Finished(outcome) = event.kind
        {
            assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
            return;
        }
    }
}

/// Counts the pages and items of the secrets list of one vault load until its terminal event (the load
/// also lists keys, certificates and deleted items side by side).
fn count_pages(events: &Receiver<Event>, id: RequestId) -> (usize, usize) {
    let (mut pages, mut items) = (0, 0);
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(60))
            .expect("worker answers");
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::ObjectsPage {
                items: page, list, ..
            } if list == ListKind::default() => {
                pages += 1;
                items += page.len();
            }
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
                return (pages, items);
            }
            _ => {}
        }
    }
}
