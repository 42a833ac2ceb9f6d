//! UI: the sign-in screen in the real app's code path with `egui_kittest`: every method listed with what it
//! needs and whether it looks available, signing in with the environment's service principal, signing out,
//! and switching to a device-code identity without restarting.

mod common;

use std::sync::Arc;

use egui_kittest::kittest::Queryable;
use vaultscope::auth::availability::sign_in_methods;
use vaultscope::auth::environment_snapshot::EnvironmentSnapshot;
use vaultscope::ui::VaultscopeApp;
use vaultscope::worker::spawn_worker;

use common::ui::{harness_for, step_until, wait_for_vault_tree};
use common::{DEMO_CLIENT_ID, TestCloud};

#[test]
fn sign_in_screen_lists_methods_signs_in_signs_out_and_switches_identity() {
    let cloud = TestCloud::start();
    let mut settings = cloud.settings();
    settings.environment = EnvironmentSnapshot::from_pairs(
        [
            ("AZURE_TENANT_ID", cloud.emulator.demo_tenant_id()),
            (
                "AZURE_CLIENT_ID",
                "be5b3a4f-9c8d-4f77-9a2b-7e8d9cab1ac8".to_owned(),
            ),
            (
                "AZURE_CLIENT_SECRET",
                "demo-ci-secret-not-for-production".to_owned(),
            ),
            (
                "AZURE_AUTHORITY_HOST",
                format!("https://login.localhost:{}", cloud.emulator.port()),
            ),
        ]
        .map(|(name, value)| (name.to_owned(), value)),
    );
    let empty = tempfile::tempdir().expect("dir");
    let search_path = empty.path().as_os_str().to_owned();
    let methods = sign_in_methods(&settings.environment, Some(&search_path), None);
    settings.azure_cli_search_path = Some(search_path);
    let (worker, events) = spawn_worker(cloud.runtime.handle(), settings, Arc::new(|| {}));
    let app =
        VaultscopeApp::new(worker, events, None, "Local emulator").with_sign_in_methods(methods);
    let mut harness = harness_for(app);
    harness.run_steps(2);

    // Every method, with what was found here.
    for title in [
        "Sign in: Azure CLI",
        "Sign in: Device code",
        "Sign in: Managed identity",
        "Sign in: Service principal from the environment",
        "Sign in: AzureServicesAuthConnectionString",
    ] {
        harness.get_by_label(title);
    }
    harness.get_by_label("az is not on PATH");
    harness.get_by_label_contains("client secret for app be5b3a4f-9c8d-4f77-9a2b-7e8d9cab1ac8");
    harness.snapshot("sign_in_screen");

    // The environment's service principal.
    harness
        .get_by_label("Sign in: Service principal from the environment")
        .click();
    step_until(&mut harness, "ci-pipeline's vaults", |harness| {
        harness.query_by_label("kv-dev-shared").is_some()
    });
    harness.get_by_label_contains("object id 7c3a4f5e-8d9c-4e66-8fba-6d7c8b9a0fc7");

    // Sign out, then sign in as someone else with a device code, without restarting.
    harness.get_by_label("Sign out").click();
    step_until(&mut harness, "the sign-in screen", |harness| {
        harness.query_by_label("Sign in: Device code").is_some()
    });
    assert!(
        harness.query_by_label("kv-dev-shared").is_none(),
        "the old identity's tree is gone"
    );
    // Replace "organizations" with the demo tenant, and the client id with the demo one.
    for (field, value) in [
        ("Tenant", cloud.emulator.demo_tenant_id()),
        ("Client id", DEMO_CLIENT_ID.to_owned()),
    ] {
        harness.get_by_label(field).focus();
        harness.step();
        harness.key_press(egui::Key::End);
        for _ in 0..40 {
            harness.key_press(egui::Key::Backspace);
        }
        harness.step();
        harness.get_by_label(field).type_text(&value);
        harness.step();
    }
    harness.get_by_label("Sign in: Device code").click();
    wait_for_vault_tree(&mut harness);
    harness.get_by_label_contains("Signed in as Ada Operator");
}

#[test]
fn the_device_code_prompt_offers_copy_open_and_cancel() {
    // An emulator that waits for someone to approve the code on its /device page.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut config = vaultscope::emulator::EmulatorConfig::demo().expect("config");
    config.auto_approve_device_codes = false;
    let emulator = runtime
        .block_on(vaultscope::emulator::Emulator::start(config))
        .expect("emulator");
    let settings =
        vaultscope::worker::SessionSettings::new(emulator.cloud_profile().expect("profile"));
    let (worker, events) = spawn_worker(runtime.handle(), settings, Arc::new(|| {}));
    let app = VaultscopeApp::new(
        worker,
        events,
        vaultscope::worker::SignInMethod::DeviceCode {
            tenant: emulator.demo_tenant_id(),
            client_id: DEMO_CLIENT_ID.to_owned(),
        },
        "Local emulator",
    );
    let mut harness = harness_for(app);
    step_until(&mut harness, "the device-code prompt", |harness| {
        harness.query_by_label("Copy code").is_some()
    });
    harness.get_by_label("To sign in, open this page and enter the code:");
    harness.get_by_label_contains("/device");
    harness.get_by_label("Open in browser");
    harness.get_by_label("Copy code").click();
    step_until(&mut harness, "the copy notice", |harness| {
        harness.query_by_label("Copied the sign-in code").is_some()
    });
    harness.get_by_label("Cancel").click();
    step_until(&mut harness, "the sign-in screen", |harness| {
        harness.query_by_label("Sign in with").is_some()
    });
    assert!(harness.query_by_label("Copy code").is_none());
}
