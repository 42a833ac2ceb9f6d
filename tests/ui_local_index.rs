//! The local index through the real app against the emulator: a first launch writes it, a relaunch shows
//! the last vault's rows before anything is read from ARM or Key Vault and reconciles what changed in
//! between, the files hold no value or token (decrypted here with the key from the mock keyring), the
//! key is nowhere but the keyring, a damaged file is set aside with a message, and `--no-index` writes
//! nothing.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use common::TestCloud;
use common::ui::{harness_for, step_until, wait_for_vault_tree};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use keyring_core::CredentialStore;
use vaultscope::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use vaultscope::azure::keyvault_writes::VersionUpdate;
use vaultscope::local_index::{IndexKey, IndexStore, LoadedIndex};
use vaultscope::ui::VaultscopeApp;
use vaultscope::ui::state::IndexMode;
use vaultscope::worker::change_model::Change;
use vaultscope::worker::{Command, Outcome, spawn_worker};

const CLOUD: &str = "Local emulator";
const KEY_SCOPE: &str = "vaultscope-test";
const VAULT: &str = "kv-dev-shared";

struct Index {
    root: PathBuf,
    keyring: Arc<CredentialStore>,
}

impl Index {
    fn new(test: &str) -> Self {
        Self {
            root: common::temp_dir(test).join("index"),
            keyring: keyring_core::mock::Store::new().expect("mock keyring"),
        }
    }

    fn store(&self) -> IndexStore {
        let key = IndexKey::from_keyring(&self.keyring, KEY_SCOPE).expect("key");
        IndexStore::new(self.root.clone(), key)
    }

    /// What the launch reads: the cloud's last identity's index.
    fn preload(&self) -> Option<(String, LoadedIndex)> {
        let store = self.store();
        let dir = store.last_identity_dir(CLOUD)?;
        let loaded = store.load_dir(&dir);
        Some((dir, loaded))
    }

    fn key_bytes(&self) -> Vec<u8> {
        self.keyring
            .build("vaultscope", &format!("local-index-key|{KEY_SCOPE}"), None)
            .expect("entry")
            .get_secret()
            .expect("the key is in the keyring")
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut pending = vec![self.root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files
    }

    /// Every index file's plaintext, decrypted here from the file format and the keyring's key.
    fn plaintexts(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let key = self.key_bytes();
        let cipher = Aes256Gcm::new_from_slice(&key).expect("a 256-bit key");
        self.files()
            .into_iter()
            .filter(|path| path.extension().is_some_and(|ext| ext == "vsi"))
            .map(|path| {
                let bytes = std::fs::read(&path).expect("read");
                let (header, rest) = bytes.split_at(9);
                assert_eq!(&header[..6], b"VSIDX\0", "{path:?}");
                let (nonce, sealed) = rest.split_at(12);
                let dir = path.parent().and_then(Path::file_name).expect("dir");
                let file = path.file_name().expect("file");
                let mut aad = header.to_vec();
                aad.extend_from_slice(
                    format!("{}/{}", dir.to_string_lossy(), file.to_string_lossy()).as_bytes(),
                );
                let nonce: [u8; 12] = nonce.try_into().expect("nonce");
                let plain = cipher
                    .decrypt(
                        &Nonce::from(nonce),
                        Payload {
                            msg: sealed,
                            aad: &aad,
                        },
                    )
                    .expect("decrypts with the keyring's key");
                (path, plain)
            })
            .collect()
    }
}

fn app(
    cloud: &TestCloud,
    index: Option<&Index>,
    preloaded: Option<(String, LoadedIndex)>,
) -> Harness<'static, VaultscopeApp> {
    let mut settings = cloud.settings();
    settings.local_index = index.map(Index::store);
    let mode = match index {
        Some(index) => IndexMode::On(index.root.display().to_string()),
        None => IndexMode::Disabled,
    };
    let (worker, events) = spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}));
    let app = VaultscopeApp::new(worker, events, cloud.demo_sign_in(), CLOUD)
        .with_local_index(mode, CLOUD, preloaded);
    harness_for(app)
}

fn vault(cloud: &TestCloud) -> VaultUri {
    VaultUri::parse(&format!(
        "https://{VAULT}.vault.localhost:{}",
        cloud.emulator.port()
    ))
    .expect("vault uri")
}

fn secret_names(harness: &Harness<'static, VaultscopeApp>, cloud: &TestCloud) -> Vec<String> {
    let state = harness.state().state();
    state
        .tree
        .vaults
        .get(&vault(cloud))
        .map(|contents| {
            let list = contents.list(vaultscope::azure::models::ListKind::live(
                ObjectKind::Secret,
            ));
            (0..list.len())
                .map(|index| list.name(index).to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn secrets_cached(harness: &Harness<'static, VaultscopeApp>, cloud: &TestCloud) -> bool {
    harness
        .state()
        .state()
        .tree
        .vaults
        .get(&vault(cloud))
        .is_some_and(|contents| {
            contents
                .list(vaultscope::azure::models::ListKind::live(
                    ObjectKind::Secret,
                ))
                .cached
        })
}

/// First launch: sign in, open the vault, wait for its lists, close the window (the index is flushed).
fn first_launch(cloud: &TestCloud, index: Option<&Index>) {
    let mut harness = app(cloud, index, None);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label(VAULT).click();
    step_until(&mut harness, "the vault's secrets", |harness| {
        harness
            .query_by_label("Catalog--DbConnectionString")
            .is_some()
    });
    step_until(&mut harness, "the whole vault loaded", |harness| {
        harness
            .state()
            .state()
            .tree
            .vaults
            .get(&vault(cloud))
            .is_some_and(|contents| contents.loaded_at.is_some())
    });
    // The versions fetched are kept too.
    harness.get_by_label("Catalog--DbConnectionString").click();
    step_until(&mut harness, "the secret's versions", |harness| {
        harness.query_by_label("Versions (3)").is_some()
    });
    harness
        .state_mut()
        .flush_index(std::time::Duration::from_secs(10));
}

/// Changes the emulator between launches: one secret deleted, one added, one retagged.
fn change_between_launches(cloud: &TestCloud) {
    let (worker, events) = cloud.signed_in_worker();
    let vault = vault(cloud);
    let run = |change: Change| {
        let id = worker.send(Command::Change(change));
        let (_, outcome) = common::wait_for(&events, id);
        assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    };
    run(Change::Delete {
        vault: vault.clone(),
        kind: ObjectKind::Secret,
        name: "catalog-ServiceBusConnection".into(),
    });
    run(Change::SetSecret {
        vault: vault.clone(),
        name: "added-between-launches".into(),
        draft: vaultscope::worker::change_model::DraftHandle(Arc::new(
            vaultscope::azure::keyvault_writes::SecretDraft {
                value: secrecy::SecretString::from("value-written-between-launches-7f3a"),
                content_type: None,
                tags: Default::default(),
                enabled: true,
                not_before: None,
                expires: None,
            },
        )),
    });
    run(Change::UpdateVersion {
        id: ObjectId {
            vault,
            kind: ObjectKind::Secret,
            name: "Catalog--DbConnectionString".into(),
            version: None,
        },
        update: VersionUpdate {
            tags: Some([("owner".to_owned(), "retagged-between-launches".to_owned())].into()),
            ..VersionUpdate::default()
        },
    });
}

/// Every secret value in the demo seed (long enough to be told apart).
fn seed_values() -> Vec<String> {
    fn walk(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    if key == "value"
                        && let Some(text) = value.as_str()
                        && text.len() >= 8
                    {
                        found.push(text.to_owned());
                    }
                    walk(value, found);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
            _ => {}
        }
    }
    let seed: serde_json::Value =
        serde_json::from_str(include_str!("../assets/demo-cloud.json")).expect("seed");
    let mut found = Vec::new();
    walk(&seed, &mut found);
    assert!(found.len() > 20, "the seed's values were found");
    found
}

#[test]
fn a_relaunch_shows_the_last_vault_before_any_request_and_reconciles_it() {
    let cloud = TestCloud::start();
    let index = Index::new("relaunch");
    first_launch(&cloud, Some(&index));
    assert!(
        index.files().len() >= 3,
        "a manifest, vault files and the last-identity pointer: {:?}",
        index.files()
    );
    change_between_launches(&cloud);

    let preloaded = index.preload().expect("an index for the demo user");
    assert!(
        preloaded.1.set_aside.is_empty(),
        "{:?}",
        preloaded.1.set_aside
    );
    cloud.emulator.clear_request_log();
    // The first frame, seen from inside it: the explorer drawn from the index alone, with the last vault's
    // rows, and not one request sent yet (the sign-in starts with the second frame).
    let first_frame: Arc<std::sync::Mutex<Option<(bool, usize, usize)>>> = Default::default();
    let mut harness = {
        let mut settings = cloud.settings();
        settings.local_index = Some(index.store());
        let (worker, events) = spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}));
        let app = VaultscopeApp::new(worker, events, cloud.demo_sign_in(), CLOUD).with_local_index(
            IndexMode::On(index.root.display().to_string()),
            CLOUD,
            Some(preloaded),
        );
        let (seen, requests_so_far) = (first_frame.clone(), cloud.emulator.request_counter());
        Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .build_ui_state(
                move |ui, app: &mut VaultscopeApp| {
                    app.drain_events();
                    app.frame_ui(ui);
                    let mut seen = seen.lock().expect("lock");
                    if seen.is_none() {
                        let rows = app
                            .state()
                            .selected_list_rows()
                            .map_or(0, |rows| rows.len());
                        *seen = Some((app.shows_explorer(), rows, requests_so_far()));
                    }
                },
                app,
            )
    };
    let (explorer, rows, requests) = first_frame.lock().expect("lock").expect("a first frame");
    assert!(explorer, "the explorer is drawn in the first frame");
    assert!(
        rows > 40,
        "the last vault's {rows} rows are there in the first frame"
    );
    assert_eq!(
        requests, 0,
        "nothing was requested before the first frame was drawn"
    );
    assert!(
        harness
            .query_by_label("Catalog--DbConnectionString")
            .is_some()
    );
    assert!(
        harness
            .query_by_label("catalog-ServiceBusConnection")
            .is_some(),
        "the deleted secret is still shown, as cached"
    );
    assert!(
        harness
            .query_by_label_contains("Cached rows from the local index")
            .is_some()
    );
    assert!(
        harness
            .query_all_by_label_contains("as of")
            .any(|node| format!("{node:?}").contains("Tree from the local index")),
        "the tree says how old it is"
    );
    assert!(secrets_cached(&harness, &cloud));
    // The versions fetched last time show at once, marked, until this run's list arrives.
    harness.get_by_label("Catalog--DbConnectionString").click();
    harness.run_steps(2);
    assert!(
        harness.query_by_label("Versions (3)").is_some()
            && harness.query_by_label_contains("cached, as of").is_some(),
        "the cached versions show with their age"
    );
    assert!(
        harness
            .query_by_label_contains("Attributes from the local index")
            .is_some()
    );

    // Signed in as the same identity: the vault is re-listed and swapped in whole.
    step_until(&mut harness, "the vault reconciled", |harness| {
        !secrets_cached(harness, &cloud)
    });
    let names = secret_names(&harness, &cloud);
    assert!(
        !names
            .iter()
            .any(|name| name == "catalog-ServiceBusConnection"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|name| name == "added-between-launches"),
        "{names:?}"
    );
    let retagged = harness.state().state().tree.vaults[&vault(&cloud)]
        .list(vaultscope::azure::models::ListKind::live(
            ObjectKind::Secret,
        ))
        .item(
            names
                .iter()
                .position(|name| name == "Catalog--DbConnectionString")
                .expect("still there"),
        )
        .expect("row");
    assert_eq!(
        retagged.tags.get("owner").map(String::as_str),
        Some("retagged-between-launches")
    );
    assert!(
        harness
            .query_by_label_contains("Cached rows from the local index")
            .is_none()
    );
    harness
        .state_mut()
        .flush_index(std::time::Duration::from_secs(10));

    // The files hold metadata only: no seed value, no value written, no token, no refresh token.
    let mut forbidden = seed_values();
    forbidden.push("value-written-between-launches-7f3a".to_owned());
    let plaintexts = index.plaintexts();
    assert!(plaintexts.len() >= 2);
    let all: Vec<u8> = plaintexts
        .iter()
        .flat_map(|(_, plain)| plain.clone())
        .collect();
    assert!(
        all.windows(b"added-between-launches".len())
            .any(|window| window == b"added-between-launches"),
        "the reconciled list was saved"
    );
    for value in &forbidden {
        assert!(
            !all.windows(value.len())
                .any(|window| window == value.as_bytes()),
            "a secret value is in the index"
        );
    }
    assert!(
        !all.windows(3).any(|window| window == b"eyJ"),
        "no JWT (access or id token) is in the index"
    );
    // The key is only in the keyring: not in any file, raw or as hex.
    let key = index.key_bytes();
    let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
    for path in index.files() {
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !bytes
                .windows(key.len())
                .any(|window| window == key.as_slice()),
            "{path:?}"
        );
        assert!(
            !bytes
                .windows(hex.len())
                .any(|window| window == hex.as_bytes()),
            "{path:?}"
        );
    }
}

#[test]
fn a_damaged_index_file_is_set_aside_with_a_message_and_the_app_goes_on() {
    let cloud = TestCloud::start();
    let index = Index::new("damaged");
    first_launch(&cloud, Some(&index));
    let vault_file = index
        .files()
        .into_iter()
        .find(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("vault-"))
        })
        .expect("a vault file");
    let bytes = std::fs::read(&vault_file).expect("read");
    std::fs::write(&vault_file, &bytes[..bytes.len() / 3]).expect("truncated");

    let preloaded = index.preload().expect("the manifest still opens");
    assert_eq!(
        preloaded.1.set_aside.len(),
        1,
        "{:?}",
        preloaded.1.set_aside
    );
    let mut harness = app(&cloud, Some(&index), Some(preloaded));
    harness.step();
    assert!(
        harness
            .query_by_label_contains("Local index: ")
            .is_some_and(|node| format!("{node:?}").contains("set aside")),
        "the notice says the file was set aside"
    );
    step_until(&mut harness, "signed in", |harness| {
        harness.state().state().session.is_signed_in()
    });
    assert!(!vault_file.exists(), "set aside, not read again");
}

#[test]
fn without_the_index_nothing_is_written() {
    let cloud = TestCloud::start();
    let index = Index::new("no-index");
    first_launch(&cloud, None);
    assert!(index.files().is_empty(), "{:?}", index.files());
    assert!(!index.root.exists());
}

#[test]
fn the_status_bar_says_which_mode_is_on() {
    let cloud = TestCloud::start();
    let index = Index::new("mode");
    let mut harness = app(&cloud, Some(&index), None);
    harness.step();
    assert!(harness.query_by_label("index on").is_some());
    let mut off = app(&cloud, None, None);
    off.step();
    assert!(off.query_by_label("index off").is_some());
}

#[test]
fn without_a_keyring_the_app_says_so_once() {
    let cloud = TestCloud::start();
    let (worker, events) = spawn_worker(cloud.runtime.handle(), cloud.settings(), Arc::new(|| {}));
    let app = VaultscopeApp::new(worker, events, cloud.demo_sign_in(), CLOUD).with_local_index(
        IndexMode::NoKeyring("no Secret Service on the session bus".into()),
        CLOUD,
        None,
    );
    let mut harness = harness_for(app);
    harness.step();
    assert!(harness.query_by_label("index off (no keyring)").is_some());
    assert!(
        harness
            .query_by_label_contains("No local index: there is no OS keyring")
            .is_some()
    );
}

#[test]
fn sign_out_offers_to_delete_the_identitys_index() {
    let cloud = TestCloud::start();
    let index = Index::new("sign-out");
    let mut harness = app(&cloud, Some(&index), None);
    wait_for_vault_tree(&mut harness);
    harness.get_by_label(VAULT).click();
    step_until(&mut harness, "the vault's secrets", |harness| {
        harness
            .query_by_label("Catalog--DbConnectionString")
            .is_some()
    });
    harness
        .state_mut()
        .flush_index(std::time::Duration::from_secs(10));
    let identity_dirs = || {
        std::fs::read_dir(&index.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.path().is_dir())
            .count()
    };
    assert_eq!(identity_dirs(), 1);
    harness.get_by_label("Sign out").click();
    step_until(&mut harness, "the sign-out dialog", |harness| {
        harness
            .query_by_label("Sign out and delete the index")
            .is_some()
    });
    harness
        .get_by_label("Sign out and delete the index")
        .click();
    step_until(&mut harness, "the index deleted", |_| identity_dirs() == 0);
    assert!(!harness.state().state().session.is_signed_in());
}
