//! Shared helpers for integration tests: an emulator on an ephemeral loopback port and a worker signed in
//! to it as the demo user.
#![allow(dead_code)]

pub mod probe;
pub mod ui;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use vaultscope::emulator::{Emulator, EmulatorConfig};
use vaultscope::worker::{
    Command, Event, EventKind, Outcome, RequestId, SessionSettings, SignInMethod, WorkerHandle,
    spawn_worker,
};

pub const DEMO_CLIENT_ID: &str = "00000000-0000-0000-0000-0000000000aa";
/// The demo tenant (Contoso Demo).
pub const DEMO_TENANT: &str = "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// The demo's CI service principal: its app id and client secret (demo data only).
pub const CI_PIPELINE_APP: &str = "be5b3a4f-9c8d-4f77-9a2b-7e8d9cab1ac8";
pub const CI_SECRET: &str = "demo-ci-secret-not-for-production";

/// The environment of the CI service principal with its client secret, against `authority`.
pub fn ci_client_secret_environment(authority: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_TENANT_ID", DEMO_TENANT.into()),
        ("AZURE_CLIENT_ID", CI_PIPELINE_APP.into()),
        ("AZURE_CLIENT_SECRET", CI_SECRET.into()),
        ("AZURE_AUTHORITY_HOST", authority.to_owned()),
    ]
}

/// `AzureServicesAuthConnectionString` for the CI service principal with its `AppKey`, against `authority`.
pub fn ci_connection_string_environment(authority: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "AzureServicesAuthConnectionString",
            format!("RunAs=App;AppId={CI_PIPELINE_APP};TenantId={DEMO_TENANT};AppKey={CI_SECRET}"),
        ),
        ("AZURE_AUTHORITY_HOST", authority.to_owned()),
    ]
}

pub struct TestCloud {
    pub runtime: tokio::runtime::Runtime,
    pub emulator: Emulator,
}

impl TestCloud {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = EmulatorConfig::demo().expect("demo config");
        let emulator = runtime
            .block_on(Emulator::start(config))
            .expect("emulator starts");
        Self { runtime, emulator }
    }

    pub fn settings(&self) -> SessionSettings {
        let mut settings = SessionSettings::new(self.emulator.cloud_profile().expect("profile"));
        settings.retry.base_delay = Duration::from_millis(20);
        settings
    }

    /// An HTTPS client trusting the emulator's CA, for plain HTTP calls to it.
    pub fn http_client(&self) -> reqwest::Client {
        self.settings()
            .cloud
            .http_client(Duration::from_secs(30))
            .expect("client")
    }

    /// A token for a directory principal (by object id) and an emulator host (`management`, `vault`, …),
    /// as Entra would issue it after that principal signed in.
    pub fn token(&self, object_id: &str, audience_host: &str) -> String {
        self.emulator
            .token_for(
                object_id,
                &format!("https://{audience_host}.localhost:{}", self.emulator.port()),
            )
            .expect("known principal")
    }

    /// The emulator's managed-identity variables named in `names` (one endpoint flavour at a time).
    pub fn managed_identity_environment(&self, names: &[&str]) -> Vec<(&'static str, String)> {
        self.emulator
            .managed_identity_environment()
            .into_iter()
            .filter(|(name, _)| names.contains(name))
            .collect()
    }

    pub fn demo_sign_in(&self) -> SignInMethod {
        SignInMethod::DeviceCode {
            tenant: self.emulator.demo_tenant_id(),
            client_id: DEMO_CLIENT_ID.into(),
        }
    }

    /// A worker already signed in as the demo user.
    pub fn signed_in_worker(&self) -> (WorkerHandle, Receiver<Event>) {
        let (worker, events) =
            spawn_worker(self.runtime.handle(), self.settings(), Arc::new(|| {}));
        let id = worker.send(Command::SignIn(self.demo_sign_in()));
        let (events_seen, outcome) = wait_for(&events, id);
        assert!(matches!(outcome, Outcome::Done), "sign-in: {outcome:?}");
        assert!(
            events_seen
                .iter()
                .any(|kind| matches!(kind, EventKind::SignedIn(_)))
        );
        (worker, events)
    }
}

/// A log sink shared by the whole test binary.
#[derive(Clone, Default)]
pub struct CapturedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per test binary) a trace-level subscriber writing into one shared buffer.
pub fn capture_log() -> CapturedLog {
    static LOG: std::sync::OnceLock<CapturedLog> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log = CapturedLog::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        log
    })
    .clone()
}

impl CapturedLog {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }
}

/// A file picker answering with whatever path the test set last (none: the person cancelled).
#[derive(Clone, Default)]
pub struct SetPicker(Arc<std::sync::Mutex<Option<std::path::PathBuf>>>);

impl SetPicker {
    pub fn answer(&self, path: &std::path::Path) {
        *self.0.lock().expect("picker") = Some(path.to_path_buf());
    }
}

impl vaultscope::worker::files::FilePicker for SetPicker {
    fn open(&self, _title: &str) -> vaultscope::worker::files::Picked {
        let path = self.0.lock().expect("picker").clone();
        Box::pin(async move { path })
    }
    fn save(&self, _title: &str, _suggested: &str) -> vaultscope::worker::files::Picked {
        self.open("")
    }
}

/// A fresh directory under the temp dir for one test's files.
pub fn temp_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vaultscope-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Collects the events of `id` until its terminal event; asserts nothing follows it.
pub fn wait_for(events: &Receiver<Event>, id: RequestId) -> (Vec<EventKind>, Outcome) {
    let mut seen = Vec::new();
    let mut others: HashMap<RequestId, usize> = HashMap::new();
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(30))
            .expect("an event within 30 s");
        if event.request_id != id {
            *others.entry(event.request_id).or_default() += 1;
            continue;
        }
        match event.kind {
            EventKind::Finished(outcome) => return (seen, outcome),
            kind => seen.push(kind),
        }
    }
}

/// Writes an executable `az` into `dir` running `body` (a POSIX shell script body).
pub fn write_fake_az(dir: &std::path::Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("az");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write az");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The body of a fake `az account get-access-token --scope S`, answering as `az` prints it with
/// `token(host)` for the management, vault and graph hosts; `expires_on` as az 2.54+ adds it.
pub fn fake_az_body(
    token: impl Fn(&str) -> String,
    expires_on: Option<i64>,
    tenant: &str,
) -> String {
    let expires_on = expires_on.map_or_else(String::new, |at| format!(r#","expires_on":{at}"#));
    format!(
        r#"scope=""
while [ $# -gt 0 ]; do
  case "$1" in --scope) scope="$2"; shift;; esac
  shift
done
case "$scope" in
  https://management.localhost*) token="{arm}";;
  https://vault.localhost*) token="{vault}";;
  https://graph.localhost*) token="{graph}";;
  *) echo "ERROR: unexpected scope $scope" >&2; exit 1;;
esac
printf '{{"accessToken":"%s","expiresOn":"2030-01-01 00:00:00.000000"{expires_on},"subscription":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","tenant":"{tenant}","tokenType":"Bearer"}}' "$token""#,
        arm = token("management"),
        vault = token("vault"),
        graph = token("graph"),
    )
}
