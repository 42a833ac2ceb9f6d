//! Azure CLI sign-in through the real worker with a fake `az` first on the search path: success (the
//! explorer lists subscriptions with the CLI's tokens), not logged in, a CLI too old to give `expires_on`,
//! and no `az` at all; each failure says what to do.

mod common;

use std::path::Path;
use std::sync::Arc;

use vaultscope::worker::{Command, EventKind, Outcome, SignInMethod, spawn_worker};

use common::{TestCloud, fake_az_body, wait_for, write_fake_az};

const ADA: &str = "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61";

/// A fake `az account get-access-token` answering with emulator tokens for Ada, per scope.
fn logged_in_az(cloud: &TestCloud, with_expires_on: bool) -> String {
    let expires_on =
        with_expires_on.then(|| time::OffsetDateTime::now_utc().unix_timestamp() + 3600);
    fake_az_body(
        |host| cloud.token(ADA, host),
        expires_on,
        "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    )
}

/// Signs in with the CLI found on `search_path`; returns the outcome and, on success, the subscriptions.
fn sign_in_with(cloud: &TestCloud, search_path: &Path) -> (Outcome, Vec<String>) {
    let mut settings = cloud.settings();
    settings.azure_cli_search_path = Some(search_path.as_os_str().to_owned());
    let (worker, events) = spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}));
    let id = worker.send(Command::SignIn(SignInMethod::AzureCli { tenant_id: None }));
    let (_, outcome) = wait_for(&events, id);
    if !matches!(outcome, Outcome::Done) {
        return (outcome, Vec::new());
    }
    let id = worker.send(Command::ListSubscriptions);
    let (seen, listed) = wait_for(&events, id);
    assert!(matches!(listed, Outcome::Done), "{listed:?}");
    let names = seen
        .into_iter()
        .flat_map(|kind| match kind {
            EventKind::SubscriptionsPage(page) => page,
            _ => Vec::new(),
        })
        .map(|subscription| subscription.display_name)
        .collect();
    (outcome, names)
}

fn failure_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Failed(error) => error.to_string(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_logged_in_cli_signs_in_and_lists_subscriptions() {
    let cloud = TestCloud::start();
    let dir = tempfile::tempdir().expect("dir");
    write_fake_az(dir.path(), &logged_in_az(&cloud, true));
    let (outcome, subscriptions) = sign_in_with(&cloud, dir.path());
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert!(
        subscriptions.contains(&"Contoso Production".to_owned()),
        "{subscriptions:?}"
    );
}

#[test]
fn cli_failures_say_what_to_do() {
    let cloud = TestCloud::start();
    let not_logged_in = tempfile::tempdir().expect("dir");
    write_fake_az(
        not_logged_in.path(),
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1",
    );
    let (outcome, _) = sign_in_with(&cloud, not_logged_in.path());
    assert!(
        failure_text(&outcome).contains("not signed in: run `az login`"),
        "{outcome:?}"
    );

    let too_old = tempfile::tempdir().expect("dir");
    write_fake_az(too_old.path(), &logged_in_az(&cloud, false));
    let (outcome, _) = sign_in_with(&cloud, too_old.path());
    assert!(failure_text(&outcome).contains("too old"), "{outcome:?}");

    let missing = tempfile::tempdir().expect("dir");
    let (outcome, _) = sign_in_with(&cloud, missing.path());
    assert!(
        failure_text(&outcome).contains("not installed or not on PATH"),
        "{outcome:?}"
    );
}
