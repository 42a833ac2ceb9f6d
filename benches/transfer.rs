//! Benchmark: moving values without showing them, at scale. 2,000 enabled secrets of kv-loadtest-5k are
//! exported with their values (each value read), the file is planned as an import back into the same vault
//! (the vault's 5,000 names and its deleted list read, each of the 2,000 current values read and compared
//! by fingerprint), and the vault is compared with itself (5,000 × 2 values read), all through the real
//! worker against the emulator with Azure's throttle model (Key Vault's 4,000 transactions per 10 s per
//! vault, smoothed to 400/s) and 10 ms of latency per request. Prints each run's value reads per second
//! beside the modeled cap and checks the bounds: ≥ 50 % of the cap, and every row found unchanged/equal.
//!
//! Run with `cargo bench --bench transfer`. Exits non-zero when a bound is missed. Against an emulator
//! started separately (`VAULTSCOPE_EMULATOR_ENV`, see `benches/common`), start it with
//! `--throttle-model azure --latency-ms 10`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::{signed_in_worker, throttled_demo, verdict};
use vaultscope::azure::identifiers::{ObjectKind, VaultUri};
use vaultscope::azure::models::{ListKind, ObjectItem};
use vaultscope::emulator::throttle::TransactionClass;
use vaultscope::transfer::compare::ValueVerdict;
use vaultscope::transfer::export::ExportFormat;
use vaultscope::transfer::plan::WriteFate;
use vaultscope::worker::files::{FilePicker, Picked, SharedPicker};
use vaultscope::worker::transfer::ExportRequest;
use vaultscope::worker::{Command, Event, EventKind, Outcome, SessionSettings, WorkerHandle};

const LATENCY: Duration = Duration::from_millis(10);
const ITEMS: usize = 2000;
const VAULT: &str = "kv-loadtest-5k";
/// Below this share of the modeled cap a run misses its bound (reads go 8 at a time).
const THROUGHPUT_BOUND: f64 = 0.5;

/// Answers every file dialog with one path.
struct FixedPicker(PathBuf);

impl FilePicker for FixedPicker {
    fn open(&self, _title: &str) -> Picked {
        let path = self.0.clone();
        Box::pin(async move { Some(path) })
    }
    fn save(&self, _title: &str, _suggested: &str) -> Picked {
        self.open("")
    }
}

fn main() {
    let (runtime, emulator, vault) = throttled_demo(LATENCY, VAULT);
    let file = std::env::temp_dir().join(format!("vaultscope-bench-{}.json", std::process::id()));
    let mut settings = SessionSettings::new(emulator.cloud_profile());
    settings.file_picker = SharedPicker(Arc::new(FixedPicker(file.clone())));
    let (worker, events) = signed_in_worker(&runtime, &emulator, settings);

    let all = list(&worker, &events, &vault);
    let items: Vec<ObjectItem> = all
        .iter()
        .filter(|item| item.enabled())
        .take(ITEMS)
        .cloned()
        .collect();
    assert_eq!(items.len(), ITEMS, "{VAULT} holds {ITEMS} enabled secrets");
    let cap = TransactionClass::Other.limit_per_10s() / 10.0;
    println!(
        "transfer: {ITEMS} of the {} secrets of {VAULT}, {} ms latency, Azure throttle model (cap {cap:.0}/s per vault)",
        all.len(),
        LATENCY.as_millis()
    );
    let mut met = true;
    let mut report = |label: &str,
                      reads: usize,
                      elapsed: Duration,
                      correct: bool,
                      detail: String| {
        let rate = reads as f64 / elapsed.as_secs_f64();
        let share = rate / cap;
        let run_met = share >= THROUGHPUT_BOUND && correct;
        met &= run_met;
        println!(
            "  {label:<8} {reads} values in {:.2} s: {rate:.0}/s = {:.0} % of the {cap:.0}/s cap (bound ≥ {:.0} %), {detail} — {}",
            elapsed.as_secs_f64(),
            share * 100.0,
            THROUGHPUT_BOUND * 100.0,
            verdict(run_met)
        );
    };

    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    let seen = run(
        &worker,
        &events,
        Command::Export(Box::new(ExportRequest {
            vault: vault.clone(),
            kind: ObjectKind::Secret,
            items,
            format: ExportFormat::Json,
            include_values: true,
        })),
    );
    let elapsed = started.elapsed();
    let exported = seen.iter().any(|kind| matches!(kind, EventKind::Exported { rows, without_value, .. } if *rows == ITEMS && without_value.is_empty()));
    report(
        "export",
        ITEMS,
        elapsed,
        exported,
        format!("{ITEMS} rows written with values"),
    );

    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    let seen = run(
        &worker,
        &events,
        Command::PlanImport {
            vault: vault.clone(),
        },
    );
    let elapsed = started.elapsed();
    let unchanged = seen
        .iter()
        .find_map(|kind| match kind {
            EventKind::WritesPlanned(plan) => Some(
                plan.rows
                    .iter()
                    .filter(|row| row.fate == WriteFate::Unchanged)
                    .count(),
            ),
            _ => None,
        })
        .unwrap_or(0);
    report(
        "plan",
        ITEMS,
        elapsed,
        unchanged == ITEMS,
        format!("{unchanged} of {ITEMS} unchanged (bound all)"),
    );

    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    let seen = run(
        &worker,
        &events,
        Command::CompareVaults {
            left: vault.clone(),
            right: vault.clone(),
        },
    );
    let elapsed = started.elapsed();
    let (equal, compared) = seen
        .iter()
        .find_map(|kind| match kind {
            EventKind::VaultsCompared { rows, .. } => Some((
                rows.iter()
                    .filter(|row| row.value == ValueVerdict::Equal)
                    .count(),
                rows.iter()
                    .filter(|row| row.left.as_ref().is_some_and(ObjectItem::enabled))
                    .count(),
            )),
            _ => None,
        })
        .unwrap_or((0, 1));
    report(
        "compare",
        compared * 2,
        elapsed,
        equal == compared,
        format!("{equal} of {compared} enabled names equal (bound all)"),
    );

    let _ = std::fs::remove_file(&file);
    emulator.shutdown();
    if !met {
        std::process::exit(1);
    }
}

/// Runs `command` to its end and returns its events.
fn run(worker: &WorkerHandle, events: &Receiver<Event>, command: Command) -> Vec<EventKind> {
    let id = worker.send(command);
    let mut seen = Vec::new();
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(600))
            .expect("the command answers");
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
                return seen;
            }
            kind => seen.push(kind),
        }
    }
}

/// Every live secret of `vault`.
fn list(worker: &WorkerHandle, events: &Receiver<Event>, vault: &VaultUri) -> Vec<ObjectItem> {
    run(
        worker,
        events,
        Command::LoadVault {
            vault: vault.clone(),
        },
    )
    .into_iter()
    .filter_map(|kind| match kind {
        EventKind::ObjectsPage { list, items, .. }
            if list == ListKind::live(ObjectKind::Secret) =>
        {
            Some(items)
        }
        _ => None,
    })
    .flatten()
    .collect()
}
