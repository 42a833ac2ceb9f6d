//! `vaultscope check` as a pipeline runs it: the real binary against the emulator (`--emulator URL
//! --emulator-ca FILE`), signed in by device code (approved for Ada) or as the environment's service
//! principal; its exit codes (0 allowed, 1 denied, 2 error or cannot tell) and its JSON (`vaultscope.check/1`)
//! with verdicts, paths and fixes — the seeds' story included: may SecurityFunctions `get` secrets in
//! kv-security-fn?

mod common;

use std::process::{Command as Process, Output};

use serde_json::Value;

use common::{CI_PIPELINE_APP, CI_SECRET, DEMO_TENANT, TestCloud};

const BINARY: &str = env!("CARGO_BIN_EXE_vaultscope");
const SECURITY_FUNCTIONS: &str = "5a1e2d3c-6b7a-4c44-8d9e-4b5a6f7e8d94";
const BEN: &str = "1e6c8ba2-4d3f-4a22-8b7c-2f3e4d5c6b72";

/// Runs `vaultscope … check ARGS` against the emulator, as Ada (device code) unless `environment` names a
/// service principal.
fn check(cloud: &TestCloud, as_ada: bool, environment: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Process::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(environment.iter().copied())
        .arg("--emulator")
        .arg(format!("https://localhost:{}", cloud.emulator.port()))
        .arg("--emulator-ca")
        .arg(cloud.emulator.ca_path());
    if as_ada {
        command.args(["--sign-in", "device-code", "--tenant", DEMO_TENANT]);
    }
    command.arg("check").args(args);
    command.output().expect("vaultscope runs")
}

fn vault(cloud: &TestCloud, name: &str) -> String {
    format!("https://{name}.vault.localhost:{}/", cloud.emulator.port())
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "JSON on stdout ({error}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn may_security_functions_get_secrets_in_kv_security_fn() {
    let cloud = TestCloud::start();
    let kv = vault(&cloud, "kv-security-fn");
    let output = check(
        &cloud,
        true,
        &[],
        &[
            "--vault",
            &kv,
            "--principal",
            SECURITY_FUNCTIONS,
            "--operation",
            "get",
            "--json",
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer = json(&output);
    assert_eq!(answer["schema"], "vaultscope.check/1");
    assert_eq!(answer["allowed"], true);
    assert_eq!(answer["principal"]["name"], "SecurityFunctions");
    assert_eq!(answer["permissionModel"], "Access policies");
    let get = &answer["operations"][0];
    assert_eq!(
        (get["objectType"].as_str(), get["operation"].as_str()),
        (Some("secrets"), Some("get"))
    );
    assert_eq!(get["grants"][0]["kind"], "accessPolicy");
    assert!(get.get("fix").is_none());

    // `set` is not in its policy: denied, with the fix the explorer would apply.
    let output = check(
        &cloud,
        true,
        &[],
        &[
            "--vault",
            &kv,
            "--principal",
            SECURITY_FUNCTIONS,
            "--operation",
            "get",
            "--operation",
            "secrets/set",
            "--json",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let answer = json(&output);
    assert_eq!(answer["allowed"], false);
    let set = &answer["operations"][1];
    assert_eq!(set["allowed"], false);
    let fix = set["fix"]["azCommand"].as_str().expect("a fix");
    assert!(
        fix.starts_with("az keyvault set-policy --name 'kv-security-fn'"),
        "{fix}"
    );
    assert!(fix.contains("--secret-permissions get list set"), "{fix}");

    // The same as text, for people reading a pipeline's log.
    let output = check(
        &cloud,
        true,
        &[],
        &[
            "--vault",
            &kv,
            "--principal",
            SECURITY_FUNCTIONS,
            "--operation",
            "set",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("DENIED  secret set: No access policy gives SecurityFunctions"),
        "{text}"
    );
    assert!(text.contains("fix: az keyvault set-policy"), "{text}");
}

#[test]
fn a_grant_through_nested_groups_names_its_path_on_one_secret() {
    let cloud = TestCloud::start();
    // Ben is in Payments Developers, inside Prod Secret Readers, which holds Key Vault Secrets User on
    // kv-prod-orders.
    let output = check(
        &cloud,
        true,
        &[],
        &[
            "--vault",
            &vault(&cloud, "kv-prod-orders"),
            "--secret",
            "inventory-CosmosKey",
            "--principal",
            BEN,
            "--operation",
            "get",
            "--json",
        ],
    );
    let answer = json(&output);
    assert_eq!(output.status.code(), Some(0), "{answer:#}");
    let grants = answer["operations"][0]["grants"]
        .as_array()
        .expect("grants");
    // Every path is named: Prod Secret Readers (through Payments Developers) and Platform Operators
    // (through Ops On-Call).
    for (role, group) in [
        ("Key Vault Secrets User", "Prod Secret Readers"),
        ("Key Vault Secrets Officer", "Platform Operators"),
    ] {
        assert!(
            grants.iter().any(|grant| grant["kind"] == "roleAssignment"
                && grant["role"] == role
                && grant["holder"]["name"] == group),
            "{role} through {group}: {grants:#?}"
        );
    }
    assert_eq!(answer["target"]["name"], "inventory-CosmosKey");
}

#[test]
fn errors_exit_2_with_their_sentence() {
    let cloud = TestCloud::start();
    let unknown = check(
        &cloud,
        true,
        &[],
        &[
            "--vault",
            &vault(&cloud, "kv-nowhere"),
            "--principal",
            "me",
            "--json",
        ],
    );
    assert_eq!(unknown.status.code(), Some(2));
    let answer = json(&unknown);
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|error| error.contains("is not among the vaults")),
        "{answer}"
    );
    let bad_operation = check(
        &cloud,
        true,
        &[],
        &[
            "--vault",
            &vault(&cloud, "kv-security-fn"),
            "--principal",
            "me",
            "--operation",
            "fly",
        ],
    );
    assert_eq!(bad_operation.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad_operation.stderr).contains("'fly' is not a secret operation")
    );
    let not_a_uri = check(
        &cloud,
        true,
        &[],
        &["--vault", "kv-security-fn", "--principal", "me"],
    );
    assert_eq!(not_a_uri.status.code(), Some(2));
}

#[test]
fn a_service_principal_from_the_environment_that_cannot_read_role_assignments_cannot_tell() {
    let cloud = TestCloud::start();
    let authority = format!("https://login.localhost:{}", cloud.emulator.port());
    // No --sign-in: the environment's service principal is the default. ci-pipeline may use secrets in
    // kv-dev-shared (a custom role) but not read its role assignments, so a denial is not to be trusted.
    let output = check(
        &cloud,
        false,
        &[
            ("AZURE_TENANT_ID", DEMO_TENANT),
            ("AZURE_CLIENT_ID", CI_PIPELINE_APP),
            ("AZURE_CLIENT_SECRET", CI_SECRET),
            ("AZURE_AUTHORITY_HOST", &authority),
        ],
        &[
            "--vault",
            &vault(&cloud, "kv-dev-shared"),
            "--principal",
            "me",
            "--operation",
            "get",
            "--json",
        ],
    );
    let answer = json(&output);
    assert_eq!(output.status.code(), Some(2), "{answer:#}");
    assert_eq!(answer["principal"]["name"], "ci-pipeline");
    assert_eq!(answer["undecided"], true);
    assert!(
        answer["caveats"]
            .as_array()
            .is_some_and(|caveats| caveats.iter().any(|c| c
                .as_str()
                .is_some_and(|c| c.contains("Role assignments could not be read")))),
        "{answer:#}"
    );
}

/// Runs `vaultscope … who-can ARGS` as Ada.
fn who_can(cloud: &TestCloud, args: &[&str]) -> Output {
    Process::new(BINARY)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--emulator")
        .arg(format!("https://localhost:{}", cloud.emulator.port()))
        .arg("--emulator-ca")
        .arg(cloud.emulator.ca_path())
        .args([
            "--sign-in",
            "device-code",
            "--tenant",
            DEMO_TENANT,
            "who-can",
        ])
        .args(args)
        .output()
        .expect("vaultscope runs")
}

#[test]
fn who_can_lists_paths_groups_blocks_eligibility_and_self_granters() {
    let cloud = TestCloud::start();
    let orders = vault(&cloud, "kv-prod-orders");
    let output = who_can(
        &cloud,
        &[
            "--vault",
            &orders,
            "--operation",
            "secrets/delete",
            "--json",
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer = json(&output);
    assert_eq!(answer["schema"], "vaultscope.who-can/1");
    let delete = &answer["operations"][0];
    let names = |list: &str| -> Vec<String> {
        delete[list]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(
        names("allowed").contains(&"Ada Operator".to_owned()),
        "{delete:#}"
    );
    // Ben holds Secrets Officer through Platform Operators, but the deny assignment on on-call blocks him.
    assert!(
        names("blocked").contains(&"Ben Developer".to_owned()),
        "{delete:#}"
    );
    // Chloe is eligible (PIM) for Secrets Officer on the vault: shown apart, not allowed.
    assert_eq!(names("eligible"), vec!["Chloe Auditor"]);
    assert!(delete["groups"].as_array().is_some_and(|groups| {
        groups
            .iter()
            .any(|g| g["name"] == "Platform Operators" && g["memberCount"] == 3)
    }));

    // On kv-security-fn (access policies), Eve (Owner) and Ada (Key Vault Contributor) can grant
    // themselves access.
    let output = who_can(
        &cloud,
        &[
            "--vault",
            &vault(&cloud, "kv-security-fn"),
            "--operation",
            "get",
            "--json",
        ],
    );
    let answer = json(&output);
    let granters: Vec<&str> = answer["selfGranters"]
        .as_array()
        .expect("selfGranters")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(
        granters.contains(&"Eve Owner") && granters.contains(&"Ada Operator"),
        "{granters:?}"
    );

    // CSV: one row per principal, with its status.
    let output = who_can(
        &cloud,
        &["--vault", &orders, "--operation", "secrets/delete", "--csv"],
    );
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with("operation,status,object_id,name,kind,paths\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "secrets/delete,blocked,1e6c8ba2-4d3f-4a22-8b7c-2f3e4d5c6b72,Ben Developer,user,"
        ),
        "{text}"
    );
    assert!(text.contains("secrets/delete,eligible,"), "{text}");
}
