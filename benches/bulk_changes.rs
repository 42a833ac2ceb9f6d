//! Benchmark: a bulk delete, then a bulk recover, of 2,000 secrets of kv-loadtest-5k through the real
//! worker (the bulk runner under its adaptive bound, the pipeline honouring `Retry-After`) against the
//! emulator with Azure's throttle model (each vault at Key Vault's published limits: 4,000 transactions per
//! 10 s for these calls, smoothed to 400/s) and 10 ms of latency per request. Prints each run's throughput
//! beside the modeled cap and checks the bounds: throughput ≥ 80 % of the cap, items lost 0, failed 0.
//!
//! Run with `cargo bench --bench bulk_changes`. Exits non-zero when a bound is missed. Against an emulator
//! started separately (`VAULTSCOPE_EMULATOR_ENV`, see `benches/common`), start it with
//! `--throttle-model azure --latency-ms 10`.

mod common;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::{signed_in_worker, throttled_demo, verdict};
use vaultscope::azure::identifiers::{ObjectKind, VaultUri};
use vaultscope::azure::models::ListKind;
use vaultscope::emulator::throttle::TransactionClass;
use vaultscope::worker::bulk::{BulkItemOutcome, CancelFlag};
use vaultscope::worker::changes::Change;
use vaultscope::worker::{Command, Event, EventKind, Outcome, SessionSettings, WorkerHandle};

const LATENCY: Duration = Duration::from_millis(10);
const ITEMS: usize = 2000;
const VAULT: &str = "kv-loadtest-5k";
/// Below this share of the modeled cap the run misses its bound.
const THROUGHPUT_BOUND: f64 = 0.8;

fn main() {
    let (runtime, emulator, vault) = throttled_demo(LATENCY, VAULT);
    let settings = SessionSettings::new(emulator.cloud_profile());
    let (worker, events) = signed_in_worker(&runtime, &emulator, settings);

    let names = list(&worker, &events, &vault, ListKind::live(ObjectKind::Secret));
    assert!(
        names.len() >= ITEMS,
        "{VAULT} holds {} secrets",
        names.len()
    );
    let names: Vec<String> = names.into_iter().take(ITEMS).collect();
    let cap = TransactionClass::Other.limit_per_10s() / 10.0;
    println!(
        "bulk_changes: {ITEMS} secrets of {VAULT}, {} ms latency, Azure throttle model (cap {cap:.0}/s per vault)",
        LATENCY.as_millis()
    );
    let mut met = true;
    for (label, list_after, make) in [
        (
            "delete",
            ListKind::deleted(ObjectKind::Secret),
            (|vault: &VaultUri, name: &String| Change::Delete {
                vault: vault.clone(),
                kind: ObjectKind::Secret,
                name: name.clone(),
            }) as fn(&VaultUri, &String) -> Change,
        ),
        (
            "recover",
            ListKind::live(ObjectKind::Secret),
            |vault: &VaultUri, name: &String| Change::Recover {
                vault: vault.clone(),
                kind: ObjectKind::Secret,
                name: name.clone(),
            },
        ),
    ] {
        // A second of quiet: the vault's bucket is full again, as after any pause.
        std::thread::sleep(Duration::from_millis(1100));
        let items: Vec<Change> = names.iter().map(|name| make(&vault, name)).collect();
        let throttled_before = emulator.throttled_requests();
        let started = Instant::now();
        let outcomes = bulk(&worker, &events, items);
        let elapsed = started.elapsed();
        let done = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Some(BulkItemOutcome::Done(_))))
            .count();
        let failed = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Some(BulkItemOutcome::Failed(_))))
            .count();
        let unreported = outcomes.iter().filter(|outcome| outcome.is_none()).count();
        // Lost: an item reported done that the service does not show where it should be, or never reported.
        std::thread::sleep(Duration::from_millis(1100));
        let now_there: std::collections::HashSet<String> =
            list(&worker, &events, &vault, list_after)
                .into_iter()
                .map(|name| name.to_ascii_lowercase())
                .collect();
        let missing = names
            .iter()
            .filter(|name| !now_there.contains(&name.to_ascii_lowercase()))
            .count();
        let lost = unreported + missing.saturating_sub(failed);
        let throughput = done as f64 / elapsed.as_secs_f64();
        let share = throughput / cap;
        let throttled = match (throttled_before, emulator.throttled_requests()) {
            (Some(before), Some(after)) => format!("{} × 429", after - before),
            _ => "429s not counted (external emulator)".to_owned(),
        };
        let run_met = share >= THROUGHPUT_BOUND && lost == 0 && failed == 0;
        met &= run_met;
        println!(
            "  {label:<8} {done} done in {:.2} s: {throughput:.0}/s = {:.0} % of the {cap:.0}/s cap (bound ≥ {:.0} %), lost {lost} (bound 0), failed {failed} (bound 0), {throttled} — {}",
            elapsed.as_secs_f64(),
            share * 100.0,
            THROUGHPUT_BOUND * 100.0,
            verdict(run_met)
        );
    }
    emulator.shutdown();
    if !met {
        std::process::exit(1);
    }
}

/// Every name in one list of `vault`, read whole.
fn list(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    vault: &VaultUri,
    list: ListKind,
) -> Vec<String> {
    let id = worker.send(Command::LoadVault {
        vault: vault.clone(),
    });
    let mut names = Vec::new();
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(120))
            .expect("the vault loads");
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::ObjectsPage {
                list: page_list,
                items,
                ..
            } if page_list == list => names.extend(items.iter().map(|item| item.name())),
            EventKind::ListEnded {
                list: ended,
                error: Some(error),
                ..
            } if ended == list => panic!("{error}"),
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
                return names;
            }
            _ => {}
        }
    }
}

/// Runs `items` as one bulk run; each item's outcome (`None`: never reported).
fn bulk(
    worker: &WorkerHandle,
    events: &Receiver<Event>,
    items: Vec<Change>,
) -> Vec<Option<BulkItemOutcome>> {
    let mut outcomes = vec![None; items.len()];
    let id = worker.send(Command::Bulk {
        items,
        cancel: CancelFlag::default(),
    });
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(300))
            .expect("the bulk run answers");
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::BulkItem { index, outcome } => outcomes[index] = Some(outcome),
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
                return outcomes;
            }
            _ => {}
        }
    }
}
