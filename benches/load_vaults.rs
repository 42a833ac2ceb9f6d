//! Benchmark: load 40 vaults × 500 secrets through the real worker (HTTPS, paging, six lists per vault)
//! against the emulator with 10 ms of latency per request, and compare with the house issue's bounds:
//! - with default settings (the adaptive bound, starting wide), all 40 at once ≤ 1.3 × the slowest single
//!   vault loaded alone;
//! - with `--parallel-vault-loads 8` as a cap, the vaults go in five waves: ≤ ⌈40 / 8⌉ × 1.3 × slowest;
//! - with the emulator answering 20 % of requests 429 (Retry-After 1 s), every vault still loads whole
//!   and none fails (no time bound: the time is printed).
//!
//! Run with `cargo bench --bench load_vaults`. Exits non-zero when a bound is missed. Against an emulator
//! started separately (`VAULTSCOPE_EMULATOR_ENV`, see `benches/common`): write its seed first with
//! `VAULTSCOPE_BENCH_SEED_OUT=FILE cargo bench --bench load_vaults` and start it with `--data FILE
//! --latency-ms 10`; the throttled case needs a second emulator with `--throttle-rate 0.2` and is skipped.

mod common;

use std::collections::HashSet;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::{BenchEmulator, median, ms, signed_in_worker, verdict};
use vaultscope::azure::identifiers::VaultUri;
use vaultscope::emulator::faults::Faults;
use vaultscope::emulator::seed;
use vaultscope::worker::{
    Command, Event, EventKind, Outcome, RequestId, SessionSettings, WorkerHandle,
};

const LATENCY: Duration = Duration::from_millis(10);
const VAULTS: usize = 40;
const SECRETS_PER_VAULT: usize = 500;
const RUNS: usize = 5;
const CAP: usize = 8;

fn main() {
    let seed_json = bench_seed_json();
    let Some((runtime, emulator)) = common::seeded_emulator(&seed_json, LATENCY) else {
        return;
    };
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
    let settings = || SessionSettings::new(emulator.cloud_profile());

    let (worker, events) = signed_in_worker(&runtime, &emulator, settings());
    // Warm-up: every vault's challenge and the Key Vault token are learnt once.
    load_together(&worker, &events, &vaults);
    // Each vault alone; a vault's time is its median (one stray scheduler hiccup on a shared machine
    // should not set the bound).
    let single: Vec<Duration> = vaults
        .iter()
        .map(|vault| {
            median((0..RUNS).map(|_| {
                let started = Instant::now();
                let id = worker.send(Command::LoadVault {
                    vault: vault.clone(),
                });
                wait_done(&events, &[id]);
                started.elapsed()
            }))
        })
        .collect();
    let slowest = *single.iter().max().expect("vaults");
    let fastest = *single.iter().min().expect("vaults");
    let all_at_once = median((0..RUNS).map(|_| load_together(&worker, &events, &vaults)));

    let mut capped = settings();
    capped.vault_load_cap = Some(CAP);
    let (capped_worker, capped_events) = signed_in_worker(&runtime, &emulator, capped);
    load_together(&capped_worker, &capped_events, &vaults);
    let with_cap =
        median((0..RUNS).map(|_| load_together(&capped_worker, &capped_events, &vaults)));

    let bound = slowest.mul_f64(1.3);
    let waves = VAULTS.div_ceil(CAP);
    let cap_bound = slowest.mul_f64(1.3 * waves as f64);
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
        "  all {VAULTS} at once, default settings: median {:>7.1} ms   bound 1.3 × slowest = {:>7.1} ms   {}",
        ms(all_at_once),
        ms(bound),
        verdict(all_at_once <= bound)
    );
    println!(
        "  all {VAULTS}, --parallel-vault-loads {CAP}: median {:>7.1} ms   bound {waves} waves × 1.3 × slowest = {:>7.1} ms   {}",
        ms(with_cap),
        ms(cap_bound),
        verdict(with_cap <= cap_bound)
    );
    let throttled_ok = throttled_case(&emulator, &worker, &events, &vaults);
    emulator.shutdown();
    if all_at_once > bound || with_cap > cap_bound || !throttled_ok {
        std::process::exit(1);
    }
}

/// All vaults at once, default settings, while the emulator throttles 20 % of requests: every vault must
/// load whole (`load_together` checks every secret arrived and every load ended `Done`).
fn throttled_case(
    emulator: &BenchEmulator,
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    vaults: &[VaultUri],
) -> bool {
    let throttling = Faults {
        throttle_rate: 0.2,
        retry_after_seconds: 1,
        ..Faults::default()
    };
    if !emulator.set_faults(throttling) {
        println!("  throttled case skipped: the external emulator's faults are its own");
        return true;
    }
    let before = emulator.throttled_requests().unwrap_or(0);
    let (elapsed, failed) = load_counting_failures(worker, events, vaults);
    emulator.set_faults(Faults::default());
    let throttled = emulator.throttled_requests().unwrap_or(0) - before;
    println!(
        "  all {VAULTS} at once, emulator throttling 20 % (Retry-After 1 s): {:>7.1} ms, {throttled} requests answered 429, {failed} vaults failed   {}",
        ms(elapsed),
        verdict(failed == 0)
    );
    failed == 0
}

fn vault_name(index: usize) -> String {
    format!("kv-bench-{index:02}")
}

/// The demo seed with the benchmark's 40 vaults added to the load-test resource group, each a copy of
/// kv-loadtest-5k with 500 generated secrets of one version.
fn bench_seed_json() -> String {
    let mut seed: serde_json::Value =
        serde_json::from_str(seed::DEMO_SEED_JSON).expect("demo seed JSON");
    let group = seed["subscriptions"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .flat_map(|subscription| {
            subscription["resourceGroups"]
                .as_array_mut()
                .into_iter()
                .flatten()
        })
        .find(|group| {
            group["vaults"]
                .as_array()
                .is_some_and(|vaults| vaults.iter().any(|vault| vault["name"] == "kv-loadtest-5k"))
        })
        .expect("the load-test resource group");
    let vaults = group["vaults"].as_array_mut().expect("vaults");
    let mut template = vaults
        .iter()
        .find(|vault| vault["name"] == "kv-loadtest-5k")
        .expect("the load-test vault")
        .clone();
    for rule in template["generatedSecrets"]
        .as_array_mut()
        .expect("generated secrets")
    {
        rule["count"] = SECRETS_PER_VAULT.into();
        rule["versions"] = 1.into();
    }
    for index in 0..VAULTS {
        let mut vault = template.clone();
        vault["name"] = vault_name(index).into();
        vaults.push(vault);
    }
    serde_json::to_string_pretty(&seed).expect("seed JSON")
}

/// Sends one load per vault at once and waits for all; returns the wall time.
fn load_together(worker: &WorkerHandle, events: &Receiver<Event>, vaults: &[VaultUri]) -> Duration {
    let (elapsed, failed) = load_counting_failures(worker, events, vaults);
    assert_eq!(failed, 0, "every vault loads");
    elapsed
}

/// Sends one load per vault at once; the wall time and how many loads did not end whole.
fn load_counting_failures(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    vaults: &[VaultUri],
) -> (Duration, usize) {
    let started = Instant::now();
    let ids: Vec<RequestId> = vaults
        .iter()
        .map(|vault| {
            worker.send(Command::LoadVault {
                vault: vault.clone(),
            })
        })
        .collect();
    let (secrets, failed) = wait_all(events, &ids);
    let elapsed = started.elapsed();
    let missing = vaults.len() * SECRETS_PER_VAULT - secrets.min(vaults.len() * SECRETS_PER_VAULT);
    (elapsed, failed + missing.div_ceil(SECRETS_PER_VAULT))
}

/// Waits for the terminal events of `ids`, which must all be `Done`; returns the secrets listed.
fn wait_done(events: &Receiver<Event>, ids: &[RequestId]) -> usize {
    let (secrets, failed) = wait_all(events, ids);
    assert_eq!(failed, 0, "every load ends Done");
    secrets
}

/// Waits for the terminal events of `ids`; the secrets listed and how many loads did not end `Done` or
/// had a list end with an error.
fn wait_all(events: &Receiver<Event>, ids: &[RequestId]) -> (usize, usize) {
    let mut open: HashSet<RequestId> = ids.iter().copied().collect();
    let mut failed_loads: HashSet<RequestId> = HashSet::new();
    let mut secrets = 0;
    while !open.is_empty() {
        let event = events
            .recv_timeout(Duration::from_secs(300))
            .expect("worker answers");
        if !open.contains(&event.request_id) {
            continue;
        }
        match event.kind {
            EventKind::ObjectsPage { items, list, .. } if list == Default::default() => {
                secrets += items.len();
            }
            EventKind::ListEnded {
                error: Some(error), ..
            } => {
                eprintln!("  a list failed: {error}");
                failed_loads.insert(event.request_id);
            }
            EventKind::Finished(outcome) => {
                if !matches!(outcome, Outcome::Done) {
                    eprintln!("  a load ended {outcome:?}");
                    failed_loads.insert(event.request_id);
                }
                open.remove(&event.request_id);
            }
            _ => {}
        }
    }
    (secrets, failed_loads.len())
}
