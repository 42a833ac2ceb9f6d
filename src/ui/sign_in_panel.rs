//! The sign-in screen: every method with what it needs and whether it looks available here, the fields a
//! method takes (tenant and client id, user-assigned identity), and the device-code prompt with copy,
//! open-in-browser and cancel.

use egui::{RichText, Ui};

use super::state::{AppState, Intent, SessionIntent, SignInForm, SignInState};
use crate::auth::availability::MethodKind;
use crate::auth::managed_identity::UserAssignedId;
use crate::worker::SignInMethod;

pub fn sign_in_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(24.0);
                ui.heading("Vaultscope");
            });
            ui.add_space(12.0);
            match &state.session.sign_in {
                SignInState::InProgress { prompt: None } => {
                    ui.vertical_centered(|ui| {
                        ui.spinner();
                        ui.label("Signing in…");
                        if ui.button("Cancel").clicked() {
                            intents.push(Intent::Session(SessionIntent::CancelSignIn));
                        }
                    });
                }
                SignInState::InProgress {
                    prompt: Some(prompt),
                } => {
                    ui.vertical_centered(|ui| device_code_ui(ui, prompt, intents));
                }
                SignInState::Failed(message) => {
                    ui.colored_label(ui.visuals().error_fg_color, message);
                    ui.add_space(8.0);
                    methods_ui(ui, state, intents);
                }
                SignInState::NotStarted => methods_ui(ui, state, intents),
                SignInState::SignedIn(_) => {}
            }
        });
}

fn methods_ui(ui: &mut Ui, state: &AppState, intents: &mut Vec<Intent>) {
    let mut form = state.session.sign_in_form.clone();
    let width = ui.available_width().min(760.0);
    ui.vertical_centered(|ui| {
        ui.set_max_width(width);
        ui.label(RichText::new("Sign in with").strong());
        for method in &state.session.sign_in_methods {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.set_width(width - 16.0);
                ui.horizontal(|ui| {
                    ui.label(RichText::new(method.title).strong());
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui.button(format!("Sign in: {}", method.title)).clicked() {
                            intents.push(Intent::Session(SessionIntent::SignInWith(method_for(
                                method.kind,
                                &form,
                            ))));
                        }
                    });
                });
                ui.horizontal_wrapped(|ui| {
                    ui.weak(format!("Needs {}.", method.needs));
                });
                ui.horizontal_wrapped(|ui| {
                    if method.looks_available {
                        ui.label(&method.finding);
                    } else {
                        ui.weak(&method.finding);
                    }
                });
                fields_ui(ui, method.kind, &mut form);
            });
        }
    });
    if form != state.session.sign_in_form {
        intents.push(Intent::Session(SessionIntent::SetSignInForm(form)));
    }
}

fn fields_ui(ui: &mut Ui, kind: MethodKind, form: &mut SignInForm) {
    let field = |ui: &mut Ui, label: &str, value: &mut String, hint: &str| {
        ui.horizontal(|ui| {
            let label = ui.label(label);
            ui.add(
                egui::TextEdit::singleline(value)
                    .hint_text(hint)
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
        });
    };
    match kind {
        MethodKind::AzureCli => field(
            ui,
            "CLI tenant",
            &mut form.cli_tenant,
            "the CLI's current tenant",
        ),
        MethodKind::DeviceCode => {
            field(
                ui,
                "Tenant",
                &mut form.tenant,
                "organizations, a tenant id or domain",
            );
            field(
                ui,
                "Client id",
                &mut form.client_id,
                "public client application id",
            );
        }
        MethodKind::ManagedIdentity => field(
            ui,
            "Identity",
            &mut form.identity,
            "system-assigned; or client id, object:<id>, resource id",
        ),
        MethodKind::EnvironmentServicePrincipal | MethodKind::ConnectionString => {}
    }
}

fn method_for(kind: MethodKind, form: &SignInForm) -> SignInMethod {
    let non_empty = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
    match kind {
        MethodKind::AzureCli => SignInMethod::AzureCli {
            tenant_id: non_empty(&form.cli_tenant),
        },
        MethodKind::DeviceCode => SignInMethod::DeviceCode {
            tenant: non_empty(&form.tenant).unwrap_or_else(|| "organizations".into()),
            client_id: non_empty(&form.client_id)
                .unwrap_or_else(|| crate::auth::device_code::AZURE_CLI_CLIENT_ID.into()),
        },
        MethodKind::ManagedIdentity => SignInMethod::ManagedIdentity {
            user_assigned: UserAssignedId::parse(&form.identity),
        },
        MethodKind::EnvironmentServicePrincipal => SignInMethod::EnvironmentServicePrincipal,
        MethodKind::ConnectionString => SignInMethod::ConnectionString,
    }
}

/// The device-code prompt: the page, the code, copy and open, and Cancel.
fn device_code_ui(
    ui: &mut Ui,
    prompt: &crate::auth::device_code::DeviceCodePrompt,
    intents: &mut Vec<Intent>,
) {
    ui.label("To sign in, open this page and enter the code:");
    ui.label(RichText::new(&prompt.verification_uri).monospace());
    ui.label(RichText::new(&prompt.user_code).monospace().size(28.0));
    ui.horizontal(|ui| {
        if ui.button("Copy code").clicked() {
            intents.push(Intent::CopyText {
                what: "the sign-in code".into(),
                text: prompt.user_code.clone(),
            });
        }
        if ui.button("Open in browser").clicked() {
            intents.push(Intent::OpenUrl(prompt.verification_uri.clone()));
        }
        if ui.button("Cancel").clicked() {
            intents.push(Intent::Session(SessionIntent::CancelSignIn));
        }
    });
    ui.spinner();
    ui.weak("Waiting for the sign-in to be approved…");
}

/// Over the explorer while it shows the local index before sign-in: the device-code prompt, if any.
pub fn device_code_window_ui(ctx: &egui::Context, state: &AppState, intents: &mut Vec<Intent>) {
    if let SignInState::InProgress {
        prompt: Some(prompt),
    } = &state.session.sign_in
    {
        egui::Window::new("Sign in")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-16.0, -40.0))
            .show(ctx, |ui| device_code_ui(ui, prompt, intents));
    }
}
