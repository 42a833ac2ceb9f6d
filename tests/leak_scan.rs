//! The leak scan: every flow (sign-in with each method, browse, reveal, copy, access check, a write) runs
//! with trace logging on; then the log, the persisted `app.ron`, the UI state's `Debug`, every worker
//! event's `Debug`, the AccessKit tree (value hidden again) and the clipboard after its clear are searched
//! for every secret the emulator issued or holds: access and refresh tokens, device codes, client secrets,
//! the managed-identity header and the vaults' secret values. None is found.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use egui_kittest::kittest::Queryable;
use secrecy::SecretString;
use vaultscope::auth::environment_snapshot::EnvironmentSnapshot;
use vaultscope::azure::identifiers::{ObjectId, VaultUri};
use vaultscope::ui::VaultscopeApp;
use vaultscope::ui::clipboard::MemoryClipboard;
use vaultscope::worker::changes::{Change, DraftHandle};
use vaultscope::worker::{
    Command, Event, EventKind, PrincipalRef, SignInMethod, WorkerHandle, spawn_worker,
};

use common::ui::{harness_for, step_until, wait_for_vault_tree};
use common::{TestCloud, capture_log, fake_az_body, write_fake_az};

const TENANT: &str = common::DEMO_TENANT;
const ADA: &str = "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61";

/// Sends `command` and returns the `Debug` of every event up to its terminal one.
fn run_logged(worker: &WorkerHandle, events: &Receiver<Event>, command: Command) -> String {
    let id = worker.send(command);
    let mut seen = String::new();
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(30))
            .expect("an event within 30 s");
        seen.push_str(&format!("{event:?}\n"));
        if event.request_id == id && matches!(event.kind, EventKind::Finished(_)) {
            return seen;
        }
    }
}

/// One identity through every worker flow: sign in, list, load a vault, read a value, check access,
/// write a secret. Returns the events' `Debug`.
fn worker_flows(
    cloud: &TestCloud,
    environment: &[(&str, String)],
    method: SignInMethod,
    vault: &str,
    az_dir: Option<&std::path::Path>,
) -> String {
    let mut settings = cloud.settings();
    settings.environment = EnvironmentSnapshot::from_pairs(
        environment
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone())),
    );
    settings.azure_cli_search_path = az_dir.map(|dir| dir.as_os_str().to_owned());
    let (worker, events) = spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}));
    let vault = VaultUri::parse(&format!(
        "https://{vault}.vault.localhost:{}/",
        cloud.emulator.port()
    ))
    .expect("uri");
    let mut seen = run_logged(&worker, &events, Command::SignIn(method));
    seen += &run_logged(&worker, &events, Command::ListSubscriptions);
    seen += &run_logged(
        &worker,
        &events,
        Command::LoadVault {
            vault: vault.clone(),
        },
    );
    let first_secret = seen
        .lines()
        .find_map(|line| {
            let at = line.find("/secrets/")?;
            let rest = &line[at + "/secrets/".len()..];
            Some(rest.split(['"', '/', '\\']).next()?.to_owned())
        })
        .expect("a secret listed");
    let id = ObjectId::parse(&format!("{vault}secrets/{first_secret}")).expect("id");
    seen += &run_logged(&worker, &events, Command::GetSecretValue { id });
    seen += &run_logged(
        &worker,
        &events,
        Command::CheckAccess {
            arm_id: String::new(),
            subscription_name: None,
            tenant_id: None,
            principal: PrincipalRef::Me,
            target: vaultscope::access::Target::Vault,
        },
    );
    let draft = DraftHandle(Arc::new(vaultscope::azure::keyvault_writes::SecretDraft {
        value: SecretString::from("leak-scan-written-value-0001"),
        content_type: None,
        tags: BTreeMap::new(),
        enabled: true,
        not_before: None,
        expires: None,
    }));
    seen += &run_logged(
        &worker,
        &events,
        Command::Change(Change::SetSecret {
            vault,
            name: "leak-scan-written".into(),
            draft,
        }),
    );
    seen += &run_logged(&worker, &events, Command::SignOut);
    seen
}

/// A storage in memory, to read what the app persists.
#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// The UI: device-code sign-in, a vault, a secret revealed and hidden, its value copied and cleared, the
/// access view. Returns (AccessKit tree, AppState `Debug`, app.ron, clipboard after its clear).
fn ui_flows(cloud: &TestCloud) -> (String, String, String, Option<String>) {
    let clipboard = MemoryClipboard::default();
    let (worker, events) = spawn_worker(cloud.runtime.handle(), cloud.settings(), Arc::new(|| {}));
    let app = VaultscopeApp::new(worker, events, cloud.demo_sign_in(), "Local emulator")
        .with_clipboard_clear_after(Duration::from_millis(200))
        .with_clipboard_backend(Box::new(clipboard.clone()));
    let mut harness = harness_for(app);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label("kv-prod-orders").click();
    step_until(&mut harness, "the secrets", |harness| {
        harness.query_by_label("inventory-ApiKey").is_some()
    });
    harness.get_by_label("inventory-ApiKey").click();
    step_until(&mut harness, "the details", |harness| {
        harness.query_by_label("Reveal value").is_some()
    });
    harness.get_by_label("Reveal value").click();
    step_until(&mut harness, "the value", |harness| {
        harness.query_by_label("Hide value").is_some()
    });
    harness.get_by_label("Hide value").click();
    harness.run_ok();
    harness.get_by_label("Copy value").click();
    step_until(&mut harness, "the copy", |_| clipboard.contents().is_some());
    std::thread::sleep(Duration::from_millis(300));
    harness
        .state_mut()
        .tick_clipboard(std::time::Instant::now());
    let clipboard_after = clipboard.contents();
    harness.get_by_label("Access").click();
    step_until(
        &mut harness,
        "the role assignments or policies",
        |harness| {
            harness
                .query_by_label_contains("Permission model")
                .is_some()
        },
    );
    harness.run_ok();
    let tree = format!("{:#?}", harness.root());
    let state = format!("{:#?}", harness.state().state());
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let persisted = format!("{:?}", storage.0);
    (tree, state, persisted, clipboard_after)
}

/// (environment, sign-in method, a vault it may read, the fake `az`'s directory).
type Flow<'a> = (
    Vec<(&'static str, String)>,
    SignInMethod,
    &'static str,
    Option<&'a std::path::Path>,
);

#[test]
fn no_secret_the_emulator_issued_is_found_anywhere() {
    let log = capture_log();
    let cloud = TestCloud::start();
    let authority = format!("https://login.localhost:{}", cloud.emulator.port());
    let pick = |names: &[&str]| cloud.managed_identity_environment(names);
    let az_dir = common::temp_dir("leak-scan-az");
    write_fake_az(
        &az_dir,
        &fake_az_body(
            |host| cloud.token(ADA, host),
            Some(time::OffsetDateTime::now_utc().unix_timestamp() + 3600),
            TENANT,
        ),
    );
    let mut events = String::new();
    let flows: Vec<Flow<'_>> = vec![
        (vec![], cloud.demo_sign_in(), "kv-dev-sandbox", None),
        (
            vec![],
            SignInMethod::AzureCli { tenant_id: None },
            "kv-dev-sandbox",
            Some(az_dir.as_path()),
        ),
        (
            common::ci_client_secret_environment(&authority),
            SignInMethod::EnvironmentServicePrincipal,
            "kv-dev-shared",
            None,
        ),
        (
            common::ci_connection_string_environment(&authority),
            SignInMethod::ConnectionString,
            "kv-dev-shared",
            None,
        ),
        (
            pick(&["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]),
            SignInMethod::ManagedIdentity {
                user_assigned: None,
            },
            "kv-security-fn",
            None,
        ),
        (
            pick(&["MSI_ENDPOINT", "MSI_SECRET"]),
            SignInMethod::ManagedIdentity {
                user_assigned: None,
            },
            "kv-security-fn",
            None,
        ),
        (
            pick(&["AZURE_POD_IDENTITY_AUTHORITY_HOST"]),
            SignInMethod::ManagedIdentity {
                user_assigned: None,
            },
            "kv-security-fn",
            None,
        ),
    ];
    for (environment, method, vault, az) in flows {
        events += &worker_flows(&cloud, &environment, method, vault, az);
    }
    assert!(
        events.contains("SecretValue"),
        "the flows read values (the scan must have something to find)"
    );
    let (tree, state, persisted, clipboard_after) = ui_flows(&cloud);

    let secrets: Vec<String> = cloud
        .emulator
        .issued_secrets(600)
        .into_iter()
        .chain(["leak-scan-written-value-0001".to_owned()])
        .filter(|secret| secret.len() >= 8)
        .collect();
    assert!(
        secrets.len() > 50,
        "tokens, codes and values to look for: {}",
        secrets.len()
    );
    let log = log.text();
    assert!(
        log.len() > 10_000,
        "trace logging ran ({} bytes)",
        log.len()
    );
    let sinks = [
        ("the trace log", log.as_str()),
        ("the worker events' Debug", events.as_str()),
        ("the AccessKit tree", tree.as_str()),
        ("the UI state's Debug", state.as_str()),
        ("app.ron", persisted.as_str()),
    ];
    for (sink, text) in sinks {
        for secret in &secrets {
            let finder = memchr::memmem::Finder::new(secret.as_bytes());
            assert!(
                finder.find(text.as_bytes()).is_none(),
                "{sink} holds an issued secret ({} characters, starting {:?})",
                secret.len(),
                secret.chars().take(4).collect::<String>()
            );
        }
    }
    assert_eq!(clipboard_after, None, "the clipboard was cleared");
    let _ = std::fs::remove_dir_all(&az_dir);
}
