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

/// A hung `az` is stopped at the time limit (the process is gone, not left running) and the call says so;
/// the token cache's slot is free again for the next call.
#[test]
fn a_hanging_az_is_stopped_at_its_time_limit() {
    let dir = common::temp_dir("hanging-az");
    let pid_file = dir.join("az.pid");
    write_fake_az(
        &dir,
        &format!("echo $$ > '{}'\nexec /bin/sleep 60", pid_file.display()),
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let credential = vaultscope::auth::azure_cli::azure_cli_credential_with_timeout(
        None,
        Some(dir.as_os_str().to_owned()),
        std::time::Duration::from_secs(1),
    )
    .expect("credential");
    let cache = vaultscope::auth::TokenCache::new(credential, "home");
    let started = std::time::Instant::now();
    let error = runtime
        .block_on(cache.token("https://management.azure.com/.default"))
        .expect_err("a hung az gives no token");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "stopped at the limit"
    );
    assert!(
        error.to_string().contains("did not answer within 1 s"),
        "{error}"
    );
    let pid = std::fs::read_to_string(&pid_file).expect("az ran");
    let proc_dir = Path::new("/proc").join(pid.trim());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while proc_dir.exists()
        && !std::fs::read_to_string(proc_dir.join("stat")).is_ok_and(|stat| stat.contains(") Z "))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let gone = !proc_dir.exists()
        || std::fs::read_to_string(proc_dir.join("stat")).is_ok_and(|stat| stat.contains(") Z "));
    assert!(gone, "the hung az (pid {pid}) was killed");
    let _ = std::fs::remove_dir_all(&dir);
}
