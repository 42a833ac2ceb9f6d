//! What the emulator benchmarks share: the emulator to measure against — started in-process, or a
//! `vaultscope emulator` started separately, named by `VAULTSCOPE_EMULATOR_ENV` (the file its `--env-file`
//! wrote) or by `VAULTSCOPE_EMULATOR_URL` + `VAULTSCOPE_EMULATOR_CA`, so other clients can be timed against
//! the same process — and a worker signed in to it by device code.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use vaultscope::cloud::CloudProfile;
use vaultscope::emulator::faults::Faults;
use vaultscope::emulator::{Emulator, EmulatorConfig};
use vaultscope::external_emulator::ExternalEmulator;
use vaultscope::worker::{
    Command, Event, EventKind, Outcome, RequestId, SessionSettings, SignInMethod, WorkerHandle,
    spawn_worker,
};

/// The variable naming an external emulator's environment file.
pub const ENV_FILE_VARIABLE: &str = "VAULTSCOPE_EMULATOR_ENV";

/// The emulator a benchmark measures.
pub enum BenchEmulator {
    Own(Emulator),
    External(ExternalEmulator),
}

impl BenchEmulator {
    /// An external emulator when the environment names one, else `config` started in-process.
    pub fn start(runtime: &tokio::runtime::Runtime, config: EmulatorConfig) -> Self {
        if let Some(file) = std::env::var_os(ENV_FILE_VARIABLE) {
            let external = ExternalEmulator::from_env_file(Path::new(&file))
                .unwrap_or_else(|error| panic!("{ENV_FILE_VARIABLE}: {error}"));
            return Self::announce(external);
        }
        if let Some(external) = ExternalEmulator::from_variables(|name| std::env::var(name).ok()) {
            return Self::announce(external.unwrap_or_else(|error| panic!("{error}")));
        }
        Self::Own(
            runtime
                .block_on(Emulator::start(config))
                .expect("emulator starts"),
        )
    }

    fn announce(external: ExternalEmulator) -> Self {
        println!(
            "(against the external emulator on port {}; its seed, latency and faults are its own)",
            external.port
        );
        Self::External(external)
    }

    pub fn is_external(&self) -> bool {
        matches!(self, Self::External(_))
    }

    pub fn port(&self) -> u16 {
        match self {
            Self::Own(emulator) => emulator.port(),
            Self::External(external) => external.port,
        }
    }

    pub fn cloud_profile(&self) -> CloudProfile {
        match self {
            Self::Own(emulator) => emulator.cloud_profile().expect("local profile"),
            Self::External(external) => external.cloud_profile().expect("local profile"),
        }
    }

    /// The tenant the device-code sign-in asks for.
    pub fn tenant_id(&self) -> String {
        match self {
            Self::Own(emulator) => emulator.demo_tenant_id(),
            Self::External(external) => external
                .environment
                .iter()
                .find(|(name, _)| name == "AZURE_TENANT_ID")
                .map_or_else(|| "organizations".to_owned(), |(_, value)| value.clone()),
        }
    }

    /// Switches fault injection, where the benchmark owns the emulator; false for an external one.
    pub fn set_faults(&self, faults: Faults) -> bool {
        match self {
            Self::Own(emulator) => {
                emulator.set_faults(faults);
                true
            }
            Self::External(_) => false,
        }
    }

    /// How many requests were answered 429 so far (own emulator only).
    pub fn throttled_requests(&self) -> Option<usize> {
        match self {
            Self::Own(emulator) => Some(
                emulator
                    .request_log()
                    .iter()
                    .filter(|request| request.status == Some(429))
                    .count(),
            ),
            Self::External(_) => None,
        }
    }

    /// How many logged requests' paths contain `part` (own emulator only), and the log cleared.
    pub fn take_requests_to(&self, part: &str) -> Option<usize> {
        match self {
            Self::Own(emulator) => {
                let count = emulator
                    .request_log()
                    .iter()
                    .filter(|request| request.path.contains(part))
                    .count();
                emulator.clear_request_log();
                Some(count)
            }
            Self::External(_) => None,
        }
    }

    pub fn shutdown(&self) {
        if let Self::Own(emulator) = self {
            emulator.shutdown();
        }
    }
}

/// The emulator on the demo cloud replaced by `seed_json`, with `latency` per request (or the external
/// one), and its runtime; `None` when `VAULTSCOPE_BENCH_SEED_OUT` asked for the seed to be written instead
/// (to start an external emulator on it).
pub fn seeded_emulator(
    seed_json: &str,
    latency: Duration,
) -> Option<(tokio::runtime::Runtime, BenchEmulator)> {
    if let Some(path) = std::env::var_os("VAULTSCOPE_BENCH_SEED_OUT") {
        std::fs::write(&path, seed_json).expect("write the seed");
        println!("wrote the benchmark seed to {}", path.to_string_lossy());
        return None;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut config = EmulatorConfig::demo().expect("demo seed");
    config.seed = vaultscope::emulator::seed::parse_seed(seed_json).expect("benchmark seed");
    config.latency = latency;
    let emulator = BenchEmulator::start(&runtime, config);
    Some((runtime, emulator))
}

/// A worker on `settings` signed in to `emulator` by device code (it approves codes at once).
pub fn signed_in_worker(
    runtime: &tokio::runtime::Runtime,
    emulator: &BenchEmulator,
    settings: SessionSettings,
) -> (WorkerHandle, Receiver<Event>) {
    let (worker, events) = spawn_worker(runtime.handle(), settings, Arc::new(|| {}));
    let sign_in = worker.send(Command::SignIn(SignInMethod::DeviceCode {
        tenant: emulator.tenant_id(),
        client_id: "00000000-0000-0000-0000-0000000000bb".into(),
    }));
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(60))
            .expect("worker answers");
        if event.request_id == sign_in
            && let EventKind::Finished(outcome) = event.kind
        {
            assert!(
                matches!(outcome, Outcome::Done),
                "sign-in (an external emulator must approve device codes at once): {outcome:?}"
            );
            return (worker, events);
        }
    }
}

/// Waits for `id`'s terminal event, which must be `Done`.
pub fn expect_done(events: &Receiver<Event>, id: RequestId) {
    expect_done_with(events, id, |_| {});
}

/// Waits for `id`'s terminal event, which must be `Done`, handing its other events to `progress`.
pub fn expect_done_with(
    events: &Receiver<Event>,
    id: RequestId,
    mut progress: impl FnMut(EventKind),
) {
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(120))
            .expect("worker answers");
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
                return;
            }
            kind => progress(kind),
        }
    }
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

pub fn verdict(met: bool) -> &'static str {
    if met { "bound met" } else { "BOUND MISSED" }
}

pub fn median(timings: impl Iterator<Item = Duration>) -> Duration {
    let mut timings: Vec<Duration> = timings.collect();
    timings.sort();
    timings[timings.len() / 2]
}

/// The demo cloud with Azure's throttle model and `latency` per request (or the external emulator), its
/// runtime, and the URI of one of its vaults.
pub fn throttled_demo(
    latency: std::time::Duration,
    vault: &str,
) -> (
    tokio::runtime::Runtime,
    BenchEmulator,
    vaultscope::azure::identifiers::VaultUri,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut config = EmulatorConfig::demo().expect("demo seed");
    config.latency = latency;
    config.azure_throttling = true;
    let emulator = BenchEmulator::start(&runtime, config);
    let uri = vaultscope::azure::identifiers::VaultUri::parse(&format!(
        "https://{vault}.vault.localhost:{}/",
        emulator.port()
    ))
    .expect("vault uri");
    (runtime, emulator, uri)
}
