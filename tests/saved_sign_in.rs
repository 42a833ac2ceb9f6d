//! Device-code sign-in remembered in the keyring (keyring-core's mock store): the rotated refresh token is
//! saved, the next launch signs in without a prompt and redeems it per resource (ARM, Key Vault, Graph),
//! sign-out deletes it, and a revoked token is forgotten with a clear message.

mod common;

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use vaultscope::auth::refresh_store::{RefreshTokenKey, RefreshTokenStore};
use vaultscope::azure::identifiers::VaultUri;
use vaultscope::worker::{Command, EventKind, Outcome, SignInMethod, spawn_worker};

use common::{DEMO_CLIENT_ID, TestCloud, wait_for};

struct Launch {
    worker: vaultscope::worker::WorkerHandle,
    events: std::sync::mpsc::Receiver<vaultscope::worker::Event>,
}

fn launch(cloud: &TestCloud, store: &RefreshTokenStore) -> Launch {
    let mut settings = cloud.settings();
    settings.refresh_tokens = Some(store.clone());
    let (worker, events) = spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}));
    Launch { worker, events }
}

impl Launch {
    fn run(&self, command: Command) -> (Vec<EventKind>, Outcome) {
        let id = self.worker.send(command);
        wait_for(&self.events, id)
    }
}

fn key(cloud: &TestCloud) -> RefreshTokenKey {
    RefreshTokenKey {
        authority_host: cloud.settings().cloud.authority_host.to_string(),
        tenant: cloud.emulator.demo_tenant_id(),
        client_id: DEMO_CLIENT_ID.to_owned(),
    }
}

fn saved(cloud: &TestCloud) -> SignInMethod {
    SignInMethod::SavedDeviceCode {
        tenant: cloud.emulator.demo_tenant_id(),
        client_id: DEMO_CLIENT_ID.to_owned(),
    }
}

#[test]
fn the_next_launch_signs_in_silently_until_sign_out() {
    let cloud = TestCloud::start();
    let store = RefreshTokenStore::new(keyring_core::mock::Store::new().expect("mock store"));

    let first = launch(&cloud, &store);
    let (seen, outcome) = first.run(Command::SignIn(cloud.demo_sign_in()));
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert!(
        seen.iter()
            .any(|kind| matches!(kind, EventKind::DeviceCode(_)))
    );
    let after_first = store.load(&key(&cloud)).expect("load").expect("saved");

    // The next launch: no device code, same identity, and every resource works.
    let second = launch(&cloud, &store);
    let (seen, outcome) = second.run(Command::SignIn(saved(&cloud)));
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert!(
        !seen
            .iter()
            .any(|kind| matches!(kind, EventKind::DeviceCode(_)))
    );
    assert!(seen.iter().any(|kind| matches!(kind, EventKind::SignedIn(identity) if identity.upn.as_deref() == Some("ada@contoso.demo"))));
    let (_, listed) = second.run(Command::ListSubscriptions);
    assert!(matches!(listed, Outcome::Done), "{listed:?}");
    let vault = VaultUri::parse(&format!(
        "https://kv-prod-orders.vault.localhost:{}/",
        cloud.emulator.port()
    ))
    .expect("uri");
    let (_, listed) = second.run(Command::LoadVault { vault });
    assert!(matches!(listed, Outcome::Done), "{listed:?}");
    let (_, searched) = second.run(Command::SearchPrincipals { text: "ops".into() });
    assert!(matches!(searched, Outcome::Done), "{searched:?}");
    // Each redemption rotated the refresh token, and the keyring holds the newest.
    let after_second = store.load(&key(&cloud)).expect("load").expect("saved");
    assert_ne!(after_first.expose_secret(), after_second.expose_secret());

    let (_, signed_out) = second.run(Command::SignOut);
    assert!(matches!(signed_out, Outcome::Done), "{signed_out:?}");
    assert!(
        store.load(&key(&cloud)).expect("load").is_none(),
        "sign-out deletes it"
    );
    let (_, after_sign_out) = second.run(Command::ListSubscriptions);
    assert!(
        matches!(after_sign_out, Outcome::Failed(_)),
        "{after_sign_out:?}"
    );

    let third = launch(&cloud, &store);
    let (_, outcome) = third.run(Command::SignIn(saved(&cloud)));
    match outcome {
        Outcome::Failed(error) => {
            assert!(error.to_string().contains("no saved sign-in"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_revoked_saved_sign_in_is_forgotten() {
    let cloud = TestCloud::start();
    let store = RefreshTokenStore::new(keyring_core::mock::Store::new().expect("mock store"));
    store
        .save(&key(&cloud), &SecretString::from("revoked-or-made-up"))
        .expect("save");
    let launch = launch(&cloud, &store);
    let (_, outcome) = launch.run(Command::SignIn(saved(&cloud)));
    match outcome {
        Outcome::Failed(error) => {
            let text = error.to_string();
            assert!(
                text.contains("no longer works") && text.contains("sign in again"),
                "{text}"
            );
            assert!(!text.contains("revoked-or-made-up"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(store.load(&key(&cloud)).expect("load").is_none());
}

/// A task still redeeming the refresh token when the person signs out must not write the rotated token
/// back: after sign-out the keyring holds nothing, and the task fails instead of using the identity.
#[test]
fn a_token_rotated_after_sign_out_is_never_saved() {
    let cloud = TestCloud::start();
    let store = RefreshTokenStore::new(keyring_core::mock::Store::new().expect("mock store"));
    let app = launch(&cloud, &store);
    let (_, outcome) = app.run(Command::SignIn(cloud.demo_sign_in()));
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert!(store.load(&key(&cloud)).expect("load").is_some());

    // Every answer now takes 400 ms: the vault load's first, tokenless request learns the challenge
    // (0–400 ms), then the refresh token is redeemed for the vault audience (400–800 ms); the sign-out
    // runs in the middle of that redemption.
    cloud
        .emulator
        .set_latency(std::time::Duration::from_millis(400));
    let vault = VaultUri::parse(&format!(
        "https://kv-prod-orders.vault.localhost:{}/",
        cloud.emulator.port()
    ))
    .expect("uri");
    let load = app.worker.send(Command::LoadVault { vault });
    std::thread::sleep(std::time::Duration::from_millis(600));
    let (_, signed_out) = app.run(Command::SignOut);
    assert!(matches!(signed_out, Outcome::Done), "{signed_out:?}");
    let (_, loaded) = wait_for(&app.events, load);
    assert!(
        !matches!(loaded, Outcome::Done),
        "a task running across the sign-out gets no token: {loaded:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(
        store.load(&key(&cloud)).expect("load").is_none(),
        "nothing is written back after sign-out"
    );
}

/// A device-code sign-in that fails after the code was approved (its identity cannot be read) leaves
/// nothing in the keyring.
#[test]
fn a_sign_in_that_fails_half_way_is_not_remembered() {
    let cloud = TestCloud::start();
    let store = RefreshTokenStore::new(keyring_core::mock::Store::new().expect("mock store"));
    let app = launch(&cloud, &store);
    // The code is approved and its tokens granted, but the first redemption of the refresh token (for
    // the identity's ARM token) is refused.
    cloud.emulator.set_refresh_tokens_refused(true);
    let (_, outcome) = app.run(Command::SignIn(cloud.demo_sign_in()));
    assert!(!matches!(outcome, Outcome::Done), "{outcome:?}");
    assert!(
        store.load(&key(&cloud)).expect("load").is_none(),
        "a failed sign-in is not remembered"
    );
}
