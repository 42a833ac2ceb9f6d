//! The app against an emulator started separately: the real `vaultscope emulator --env-file` process (any
//! port, manual device approval) prints and writes every variable a client needs, `MSI_*` included, and a
//! worker set up as `vaultscope --emulator-env FILE` sets itself up signs in there with every method — the
//! environment's service principal, the managed identity, a device code approved on the `/device` page, and
//! an Azure CLI (a fake `az` handing out tokens the emulator issued). Also: the emulator's help lists no
//! option of the window, and a broken `--data` seed is refused with a message before anything starts.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use vaultscope::auth::environment_snapshot::EnvironmentSnapshot;
use vaultscope::external_emulator::ExternalEmulator;
use vaultscope::worker::{
    Command, Event, EventKind, Outcome, SessionSettings, SignInMethod, WorkerHandle, spawn_worker,
};

const BINARY: &str = env!("CARGO_BIN_EXE_vaultscope");
const ADA: &str = "ada@contoso.demo";

/// The emulator process, stopped when the test ends (passed or not).
struct EmulatorProcess {
    child: Child,
    stdout: Vec<String>,
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `vaultscope emulator` on a free port with `--env-file env_file`, and waits until it has written
/// the file and printed its variables.
fn start_emulator(env_file: &Path, ca_dir: &Path) -> EmulatorProcess {
    let mut child = Process::new(BINARY)
        .args(["emulator", "--port", "0", "--manual-device-approval"])
        .arg("--env-file")
        .arg(env_file)
        .arg("--ca-dir")
        .arg(ca_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the emulator starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        let done = line.contains("Press Ctrl+C");
        lines.push(line);
        if done {
            break;
        }
    }
    assert!(env_file.exists(), "the env file is written: {lines:?}");
    EmulatorProcess {
        child,
        stdout: lines,
    }
}

/// Settings as `vaultscope --emulator-env FILE` builds them (without the process environment, to stay
/// hermetic).
fn settings_for(emulator: &ExternalEmulator) -> SessionSettings {
    let mut settings = SessionSettings::new(emulator.cloud_profile().expect("profile"));
    settings.environment = EnvironmentSnapshot::from_pairs(emulator.environment.clone());
    settings.retry.base_delay = Duration::from_millis(20);
    settings
}

fn variable(emulator: &ExternalEmulator, name: &str) -> String {
    emulator
        .environment
        .iter()
        .find(|(candidate, _)| candidate == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| panic!("{name} is among the variables"))
}

/// Signs in with `method`, calling `on_prompt` with a device-code prompt if one comes; returns who signed
/// in (the name or object id), and checks the identity can list subscriptions.
fn sign_in(
    runtime: &tokio::runtime::Runtime,
    settings: SessionSettings,
    method: SignInMethod,
    on_prompt: impl Fn(&str),
) -> String {
    let (worker, events) = spawn_worker(runtime.handle(), settings, Arc::new(|| {}));
    let id = worker.send(Command::SignIn(method.clone()));
    let mut who = None;
    loop {
        let event = next(&events);
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::DeviceCode(prompt) => on_prompt(&prompt.user_code),
            EventKind::SignedIn(identity) => {
                who = identity.name.clone().or(identity.oid.clone());
            }
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{method:?}: {outcome:?}");
                break;
            }
            _ => {}
        }
    }
    assert!(
        subscriptions_listed(&worker, &events) > 0,
        "{method:?} lists subscriptions"
    );
    who.expect("an identity")
}

fn next(events: &Receiver<Event>) -> Event {
    events
        .recv_timeout(Duration::from_secs(30))
        .expect("the worker answers within 30 s")
}

fn subscriptions_listed(worker: &WorkerHandle, events: &Receiver<Event>) -> usize {
    let id = worker.send(Command::ListSubscriptions);
    let mut count = 0;
    loop {
        let event = next(events);
        if event.request_id != id {
            continue;
        }
        match event.kind {
            EventKind::SubscriptionsPage(page) => count += page.len(),
            EventKind::Finished(outcome) => {
                assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
                return count;
            }
            _ => {}
        }
    }
}

/// A token from the emulator's Entra for the environment's service principal and `scope`.
fn client_credentials_token(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    emulator: &ExternalEmulator,
    scope: &str,
) -> String {
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        variable(emulator, "AZURE_AUTHORITY_HOST"),
        variable(emulator, "AZURE_TENANT_ID")
    );
    let form = [
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", variable(emulator, "AZURE_CLIENT_ID")),
        ("client_secret", variable(emulator, "AZURE_CLIENT_SECRET")),
        ("scope", scope.to_owned()),
    ];
    let body: serde_json::Value = runtime.block_on(async {
        http.post(url)
            .form(&form)
            .send()
            .await
            .expect("token endpoint")
            .json()
            .await
            .expect("token JSON")
    });
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

#[test]
fn every_sign_in_method_works_against_a_separately_started_emulator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env_file = dir.path().join("emulator.env");
    let process = start_emulator(&env_file, &dir.path().join("ca"));
    let printed = process.stdout.join("\n");
    for name in [
        "VAULTSCOPE_EMULATOR_URL=",
        "VAULTSCOPE_EMULATOR_CA=",
        "AZURE_AUTHORITY_HOST=",
        "AZURE_CLIENT_SECRET=",
        "IDENTITY_ENDPOINT=",
        "IDENTITY_HEADER=",
        "MSI_ENDPOINT=",
        "MSI_SECRET=",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST=",
        "REQUESTS_CA_BUNDLE=",
    ] {
        assert!(printed.contains(name), "{name} is printed:\n{printed}");
    }
    let mode = std::fs::metadata(&env_file)
        .expect("env file")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the env file holds a secret: owner-only"
    );

    let emulator = ExternalEmulator::from_env_file(&env_file).expect("the env file reads back");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    let who = sign_in(
        &runtime,
        settings_for(&emulator),
        SignInMethod::EnvironmentServicePrincipal,
        |_| {},
    );
    assert_eq!(who, "ci-pipeline");

    let who = sign_in(
        &runtime,
        settings_for(&emulator),
        SignInMethod::ManagedIdentity {
            user_assigned: None,
        },
        |_| {},
    );
    assert!(!who.is_empty(), "the system-assigned identity");

    // A device code, approved on the emulator's /device page as a person would.
    let http = emulator
        .cloud_profile()
        .expect("profile")
        .http_client(Duration::from_secs(30))
        .expect("client");
    let device_page = format!("{}/device", variable(&emulator, "AZURE_AUTHORITY_HOST"));
    let who = sign_in(
        &runtime,
        settings_for(&emulator),
        SignInMethod::DeviceCode {
            tenant: variable(&emulator, "AZURE_TENANT_ID"),
            client_id: "00000000-0000-0000-0000-0000000000cc".into(),
        },
        |user_code| {
            let status = runtime.block_on(async {
                http.post(&device_page)
                    .form(&[
                        ("user_code", user_code),
                        ("upn", ADA),
                        ("decision", "approve"),
                    ])
                    .send()
                    .await
                    .expect("the device page answers")
                    .status()
            });
            assert!(status.is_success(), "approved: {status}");
        },
    );
    assert_eq!(who, "Ada Operator");

    // The Azure CLI pointed at the emulator: a fake `az` with tokens the emulator issued.
    let port = emulator.port;
    let token = |host: &str| {
        client_credentials_token(
            &runtime,
            &http,
            &emulator,
            &format!("https://{host}.localhost:{port}/.default"),
        )
    };
    let az_dir = tempfile::tempdir().expect("az dir");
    common::write_fake_az(
        az_dir.path(),
        &common::fake_az_body(
            token,
            Some(1_893_456_000),
            &variable(&emulator, "AZURE_TENANT_ID"),
        ),
    );
    let mut settings = settings_for(&emulator);
    settings.azure_cli_search_path = Some(az_dir.path().as_os_str().to_owned());
    let who = sign_in(
        &runtime,
        settings,
        SignInMethod::AzureCli { tenant_id: None },
        |_| {},
    );
    assert_eq!(who, "ci-pipeline");
    drop(process);
}

#[test]
fn the_emulators_help_lists_no_window_option_and_a_broken_seed_is_refused() {
    let help = Process::new(BINARY)
        .args(["emulator", "--help"])
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--env-file"), "{help}");
    for window_only in ["--clear-clipboard-after", "--parallel-vault-loads"] {
        assert!(!help.contains(window_only), "{window_only} in:\n{help}");
    }
    let top = Process::new(BINARY).arg("--help").output().expect("help");
    let top = String::from_utf8_lossy(&top.stdout);
    for option in [
        "--emulator <URL>",
        "--emulator-ca <FILE>",
        "--emulator-env <FILE>",
    ] {
        assert!(top.contains(option), "{option} in:\n{top}");
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let seed = dir.path().join("broken.json");
    std::fs::write(&seed, "{\"tenants\": [").expect("write");
    let demo = Process::new(BINARY)
        .arg("demo")
        .arg("--data")
        .arg(&seed)
        .output()
        .expect("demo");
    assert!(!demo.status.success());
    let message = String::from_utf8_lossy(&demo.stderr);
    assert!(
        message.contains("invalid seed") && message.contains("broken.json"),
        "{message}"
    );

    let env = dir.path().join("not-an.env");
    std::fs::write(&env, "VAULTSCOPE_EMULATOR_URL=https://example.com:443\n").expect("write");
    let gui = Process::new(BINARY)
        .arg("--emulator-env")
        .arg(&env)
        .output()
        .expect("gui");
    assert!(!gui.status.success());
    let message = String::from_utf8_lossy(&gui.stderr);
    assert!(message.contains("is not an emulator URL"), "{message}");
}
