//! Helpers for `egui_kittest` tests: the real app with its worker on the emulator, and stepping frames
//! until the worker's answers show.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use vaultscope::ui::VaultscopeApp;
use vaultscope::worker::spawn_worker;

use super::TestCloud;

pub fn app_harness(cloud: &TestCloud) -> Harness<'static, VaultscopeApp> {
    let (worker, events) = spawn_worker(cloud.runtime.handle(), cloud.settings(), Arc::new(|| {}));
    let app = VaultscopeApp::new(worker, events, cloud.demo_sign_in(), "Local emulator");
    harness_for(app)
}

/// A harness around any app (for apps built with other settings or a sign-in screen).
pub fn harness_for(app: VaultscopeApp) -> Harness<'static, VaultscopeApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, app: &mut VaultscopeApp| {
                app.drain_events();
                app.frame_ui(ui);
            },
            app,
        )
}

/// How many live secrets the emulator holds in `vault`.
pub fn secret_count(cloud: &TestCloud, vault: &str) -> usize {
    cloud
        .emulator
        .vault_secret_counts()
        .into_iter()
        .find(|(name, _)| name == vault)
        .map(|(_, count)| count)
        .expect("vault exists")
}

/// Steps the harness until `done` holds, polling the worker in real time (it runs on its own threads).
pub fn step_until(
    harness: &mut Harness<'static, VaultscopeApp>,
    what: &str,
    done: impl Fn(&Harness<'static, VaultscopeApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(harness) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    harness.step();
}

/// Every demo vault, in every subscription.
pub const DEMO_VAULTS: [&str; 10] = [
    "kv-fabrikam-partner",
    "kv-dev-sandbox",
    "kv-dev-shared",
    "kv-loadtest-5k",
    "kv-northwind-ops",
    "kv-prod-orders",
    "kv-prod-payments",
    "kv-prod-restricted",
    "kv-prod-web",
    "kv-security-fn",
];

/// Steps until the whole vault tree has arrived, so its layout no longer moves under a click.
pub fn wait_for_vault_tree(harness: &mut Harness<'static, VaultscopeApp>) {
    use egui_kittest::kittest::Queryable;
    step_until(harness, "the whole vault tree", |harness| {
        DEMO_VAULTS
            .iter()
            .all(|vault| harness.query_by_label(vault).is_some())
    });
}

/// Clicks the control labelled `label`, then steps until a node labelled `shown` is on screen.
pub fn click_until_shown(harness: &mut Harness<'static, VaultscopeApp>, label: &str, shown: &str) {
    use egui_kittest::kittest::Queryable;
    harness.get_by_label(label).click();
    step_until(
        harness,
        &format!("'{shown}' after clicking '{label}'"),
        |harness| harness.query_by_label(shown).is_some(),
    );
}

/// The text field labelled `label` (a list header or a details row may carry the same words).
pub fn text_field<'h>(
    harness: &'h Harness<'static, VaultscopeApp>,
    label: &'h str,
) -> egui_kittest::Node<'h> {
    use egui::accesskit::Role;
    let found = harness
        .query_all(
            egui_kittest::kittest::By::new()
                .label(label)
                .predicate(|node| {
                    matches!(
                        node.role(),
                        Role::TextInput | Role::MultilineTextInput | Role::PasswordInput
                    )
                }),
        )
        .next();
    found.unwrap_or_else(|| {
        let fields: Vec<String> = harness
            .query_all(egui_kittest::kittest::By::new().predicate(|node| {
                matches!(
                    node.role(),
                    Role::TextInput | Role::MultilineTextInput | Role::PasswordInput
                )
            }))
            .map(|node| format!("{:?}", node))
            .collect();
        panic!("no text field labelled {label}; fields: {fields:?}")
    })
}

pub fn type_into(harness: &mut Harness<'static, VaultscopeApp>, label: &str, text: &str) {
    text_field(harness, label).focus();
    harness.step();
    text_field(harness, label).type_text(text);
    harness.run_steps(2);
}

/// Steps until the selected vault's "apps that use it" are known (or failed): a confirmation shows them
/// above its buttons, so a click aimed before they arrive would land where the button no longer is.
pub fn wait_for_consumers(harness: &mut Harness<'static, VaultscopeApp>) {
    step_until(harness, "the apps that use the vault", |harness| {
        let consumers = &harness.state().state().consumers;
        consumers.vault_arm_id.is_some()
            && matches!(
                consumers.status,
                vaultscope::ui::state::LoadStatus::Loaded
                    | vaultscope::ui::state::LoadStatus::Failed(_)
            )
    });
    harness.run_steps(2);
}
