//! A token a service refuses after it was accepted (revoked, or a Continuous Access Evaluation claims
//! challenge): Vaultscope drops it and asks once for a new one, as Microsoft's SDKs do, or says plainly that
//! a new sign-in is needed.

mod common;

use common::{TestCloud, wait_for};
use vaultscope::azure::identifiers::ObjectId;
use vaultscope::worker::{Command, Outcome};

fn read_value(
    cloud: &TestCloud,
    worker: &vaultscope::worker::WorkerHandle,
    events: &std::sync::mpsc::Receiver<vaultscope::worker::Event>,
) -> Outcome {
    let vault = cloud
        .emulator
        .cloud_profile()
        .expect("profile")
        .vault_uri("kv-prod-orders");
    let id = ObjectId::parse(&format!("{vault}secrets/reporting-StorageAccountKey")).expect("id");
    let request = worker.send(Command::GetSecretValue { id });
    wait_for(events, request).1
}

#[test]
fn a_revoked_key_vault_token_is_dropped_and_a_new_one_asked_for_once() {
    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    assert!(matches!(
        read_value(&cloud, &worker, &events),
        Outcome::Done
    ));

    cloud.emulator.revoke_issued_tokens(false);
    cloud.emulator.clear_request_log();
    let outcome = read_value(&cloud, &worker, &events);
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    let vault_statuses: Vec<Option<u16>> = cloud
        .emulator
        .request_log()
        .iter()
        .filter(|logged| logged.host.starts_with("kv-prod-orders"))
        .map(|logged| logged.status)
        .collect();
    assert_eq!(
        vault_statuses,
        [Some(401), Some(200)],
        "one refusal, then one retry with a new token"
    );
}

#[test]
fn a_claims_challenge_says_plainly_that_a_new_sign_in_is_needed() {
    let cloud = TestCloud::start();
    let (worker, events) = cloud.signed_in_worker();
    assert!(matches!(
        read_value(&cloud, &worker, &events),
        Outcome::Done
    ));

    cloud.emulator.revoke_issued_tokens(true);
    let Outcome::Failed(error) = read_value(&cloud, &worker, &events) else {
        panic!("a CAE refusal must fail");
    };
    let text = vaultscope::ui::state::explain(&error);
    assert!(text.contains("Continuous Access Evaluation"), "{text}");
    assert!(text.contains("sign in again"), "{text}");

    let request = worker.send(Command::ListSubscriptions);
    let Outcome::Failed(error) = wait_for(&events, request).1 else {
        panic!("ARM's CAE refusal must fail too");
    };
    assert!(
        error.to_string().contains("Continuous Access Evaluation"),
        "{error}"
    );
}
