//! Benchmark: load 40 vaults × 500 secrets through the real worker (HTTPS, paging, six lists per vault)
//! against the emulator with 10 ms of latency per request, and compare with the explorer issue's bound:
//! all 40 at once ≤ 1.3 × the slowest single vault loaded alone.
//!
//! Each vault's paging is sequential (every page names the next), so loading 40 vaults in the time of one
//! needs all 40 in flight: the figure is taken with the vault-load bound at 40. With the app's default
//! bound of 8 the vaults go in five waves; that run is printed too, against its own bound of
//! ⌈40 / 8⌉ × 1.3 × the slowest single vault.
//!
//! Run with `cargo bench --bench load_vaults`. Exits non-zero when a bound is missed.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use vaultscope::azure::identifiers::VaultUri;
use vaultscope::emulator::{Emulator, EmulatorConfig};
use vaultscope::worker::{
    Command, Event, EventKind, Outcome, RequestId, SessionSettings, SignInMethod, WorkerHandle,
    spawn_worker,
};

const LATENCY: Duration = Duration::from_millis(10);
const VAULTS: usize = 40;
const SECRETS_PER_VAULT: usize = 500;
const RUNS: usize = 5;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut config = EmulatorConfig::demo().expect("demo seed");
    config.latency = LATENCY;
    add_bench_vaults(&mut config);
    let emulator = runtime
        .block_on(Emulator::start(config))
        .expect("emulator starts");
    let vaults: Vec<VaultUri> = (0..VAULTS)
        .map(|index| {
            VaultUri::parse(&format!(
                "https://{}.vault.localhost:{}/",
                vault_name(index),
                emulator.port()
            ))
            .expect("vault uri")
        })
        .collect();

    let (worker, events) = signed_in_worker(&runtime, &emulator, VAULTS);
    // Warm-up: every vault's challenge and the Key Vault token are learnt once.
    load_together(&worker, &events, &vaults);
    // Each vault alone, three times; a vault's time is its median (one stray scheduler hiccup on a
    // shared machine should not set the bound).
    let mut single = Vec::with_capacity(VAULTS);
    for vault in &vaults {
        single.push(median((0..RUNS).map(|_| {
            let started = Instant::now();
            let id = worker.send(Command::LoadVault {
                vault: vault.clone(),
            });
            wait_done(&events, &[id]);
            started.elapsed()
        })));
    }
    let slowest = *single.iter().max().expect("vaults");
    let fastest = *single.iter().min().expect("vaults");
    let all_at_once = median((0..RUNS).map(|_| load_together(&worker, &events, &vaults)));

    let (default_worker, default_events) = signed_in_worker(
        &runtime,
        &emulator,
        vaultscope::worker::session::DEFAULT_PARALLEL_VAULT_LOADS,
    );
    load_together(&default_worker, &default_events, &vaults);
    let with_default_bound =
        median((0..RUNS).map(|_| load_together(&default_worker, &default_events, &vaults)));

    let bound = slowest.mul_f64(1.3);
    let waves = VAULTS.div_ceil(vaultscope::worker::session::DEFAULT_PARALLEL_VAULT_LOADS);
    let default_bound = slowest.mul_f64(1.3 * waves as f64);
    println!(
        "load {VAULTS} vaults × {SECRETS_PER_VAULT} secrets (20 pages each, plus keys, certificates, deleted) at {} ms latency",
        LATENCY.as_millis()
    );
    println!(
        "  single vault alone (median of {RUNS} each): slowest {:>7.1} ms   fastest {:>7.1} ms",
        ms(slowest),
        ms(fastest)
    );
    println!(
        "  all {VAULTS} at once (bound 40):   median {:>7.1} ms   bound 1.3 × slowest = {:>7.1} ms   {}",
        ms(all_at_once),
        ms(bound),
        verdict(all_at_once <= bound)
    );
    println!(
        "  all {VAULTS}, default bound 8:    median {:>7.1} ms   bound {waves} waves × 1.3 × slowest = {:>7.1} ms   {}",
        ms(with_default_bound),
        ms(default_bound),
        verdict(with_default_bound <= default_bound)
    );
    emulator.shutdown();
    if all_at_once > bound || with_default_bound > default_bound {
        std::process::exit(1);
    }
}

fn vault_name(index: usize) -> String {
    format!("kv-bench-{index:02}")
}

/// Adds the benchmark's vaults to the demo's load-test resource group, each with 500 generated secrets.
fn add_bench_vaults(config: &mut EmulatorConfig) {
    let group = config
        .seed
        .subscriptions
        .iter_mut()
        .flat_map(|subscription| subscription.resource_groups.iter_mut())
        .find(|group| {
            group
                .vaults
                .iter()
                .any(|vault| vault.name == "kv-loadtest-5k")
        })
        .expect("the load-test resource group");
    let mut template = group
        .vaults
        .iter()
        .find(|vault| vault.name == "kv-loadtest-5k")
        .expect("the load-test vault")
        .clone();
    for rule in &mut template.generated_secrets {
        rule.count = SECRETS_PER_VAULT;
        rule.versions = 1;
    }
    for index in 0..VAULTS {
        let mut vault = template.clone();
        vault.name = vault_name(index);
        group.vaults.push(vault);
    }
}

fn signed_in_worker(
    runtime: &tokio::runtime::Runtime,
    emulator: &Emulator,
    parallel_vault_loads: usize,
) -> (WorkerHandle, Receiver<Event>) {
    let mut settings = SessionSettings::new(emulator.cloud_profile().expect("local profile"));
    settings.parallel_vault_loads = parallel_vault_loads;
    let (worker, events) = spawn_worker(runtime.handle(), settings, Arc::new(|| {}));
    let sign_in = worker.send(Command::SignIn(SignInMethod::DeviceCode {
        tenant: emulator.demo_tenant_id(),
        client_id: "00000000-0000-0000-0000-0000000000bb".into(),
    }));
    wait_done(&events, &[sign_in]);
    (worker, events)
}

/// Sends one load per vault at once and waits for all; returns the wall time.
fn load_together(worker: &WorkerHandle, events: &Receiver<Event>, vaults: &[VaultUri]) -> Duration {
    let started = Instant::now();
    let ids: Vec<RequestId> = vaults
        .iter()
        .map(|vault| {
            worker.send(Command::LoadVault {
                vault: vault.clone(),
            })
        })
        .collect();
    let secrets = wait_done(events, &ids);
    assert_eq!(
        secrets,
        vaults.len() * SECRETS_PER_VAULT,
        "every secret listed"
    );
    started.elapsed()
}

/// Waits for the terminal events of `ids` (all must be `Done`); returns the secrets listed.
fn wait_done(events: &Receiver<Event>, ids: &[RequestId]) -> usize {
    let mut open: HashSet<RequestId> = ids.iter().copied().collect();
    let mut secrets = 0;
    while !open.is_empty() {
        let event = events
            .recv_timeout(Duration::from_secs(120))
            .expect("worker answers");
        if !open.contains(&event.request_id) {
            continue;
        }
        match event.kind {
            EventKind::ObjectsPage { items, list, .. } if list == Default::default() => {
                secrets += items.len();
            }
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
                open.remove(&event.request_id);
            }
            _ => {}
        }
    }
    secrets
}

fn median(timings: impl Iterator<Item = Duration>) -> Duration {
    let mut timings: Vec<Duration> = timings.collect();
    timings.sort();
    timings[timings.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

fn verdict(met: bool) -> &'static str {
    if met { "bound met" } else { "BOUND MISSED" }
}
