//! Sign-in and the session: the sign-in screen's methods and fields, the device-code prompt, the signed-in
//! identity, sign-out, and the device-code sign-in remembered across launches (tenant and client id only).

use super::common::{CommandSink, Requests, Shared};
use super::errors::explain;
use crate::auth::SignedInIdentity;
use crate::auth::availability::MethodAvailability;
use crate::auth::device_code::DeviceCodePrompt;
use crate::worker::{Command, EventKind, Outcome, SignInMethod};

/// The editable fields of the sign-in screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInForm {
    /// Device code: tenant id or domain (`organizations` for any work account).
    pub tenant: String,
    /// Device code: the public client id.
    pub client_id: String,
    /// Managed identity: empty for system-assigned; a client id, `object:<id>` or a resource id.
    pub identity: String,
    /// Azure CLI: empty for the CLI's current tenant.
    pub cli_tenant: String,
}

impl Default for SignInForm {
    fn default() -> Self {
        Self {
            tenant: "organizations".into(),
            client_id: crate::auth::device_code::AZURE_CLI_CLIENT_ID.into(),
            identity: String::new(),
            cli_tenant: String::new(),
        }
    }
}

/// Sign-in progress.
#[derive(Debug, Clone, Default)]
pub enum SignInState {
    #[default]
    NotStarted,
    InProgress {
        prompt: Option<DeviceCodePrompt>,
    },
    SignedIn(SignedInIdentity),
    Failed(String),
}

/// What the person does on the sign-in screen and in the status bar.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionIntent {
    RetrySignIn,
    SignInWith(SignInMethod),
    SetSignInForm(SignInForm),
    CancelSignIn,
    /// Sign out (forgetting a saved sign-in) and go back to the sign-in screen.
    SignOut,
}

/// What a session request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRequest {
    SignIn,
    SignOut,
}

/// The session: how to sign in, how far it got, and who is signed in.
#[derive(Debug, Default)]
pub struct SessionState {
    pub sign_in_method: Option<SignInMethod>,
    pub sign_in: SignInState,
    /// The sign-in screen's rows: what each method needs and whether it looks available.
    pub sign_in_methods: Vec<MethodAvailability>,
    pub sign_in_form: SignInForm,
    /// A device-code sign-in to remember across launches (tenant, client id); never secrets.
    pub remembered_device_code: Option<(String, String)>,
    /// Why this sign-in will not be remembered (no keyring, or it refused), when it will not.
    pub not_remembered: Option<String>,
    pub(super) requests: Requests<SessionRequest>,
}

impl SessionState {
    /// The signed-in identity's name for sentences ("Ada Operator lacks …").
    pub fn who(&self) -> String {
        match &self.sign_in {
            SignInState::SignedIn(identity) => identity.label(),
            _ => "This identity".to_owned(),
        }
    }

    /// The signed-in identity as the change log records it: name, and the UPN or object id that tells
    /// identities apart ("Ada Operator <ada@contoso.demo>").
    pub fn audit_identity(&self) -> String {
        match &self.sign_in {
            SignInState::SignedIn(identity) => {
                let label = identity.label();
                match identity.upn.as_deref().or(identity.oid.as_deref()) {
                    Some(id) if id != label => format!("{label} <{id}>"),
                    _ => label,
                }
            }
            _ => "unknown identity".to_owned(),
        }
    }

    /// The signed-in identity's tenant, from its token.
    pub fn tenant_id(&self) -> Option<String> {
        match &self.sign_in {
            SignInState::SignedIn(identity) => identity.tid.clone(),
            _ => None,
        }
    }

    pub fn is_signed_in(&self) -> bool {
        matches!(self.sign_in, SignInState::SignedIn(_))
    }

    /// Sends the sign-in with the configured method (the app has forgotten the previous identity's work).
    pub fn begin_sign_in(&mut self, sink: &mut dyn CommandSink) {
        let Some(method) = self.sign_in_method.clone() else {
            return;
        };
        self.requests
            .stop_waiting(|request| *request == SessionRequest::SignIn);
        self.requests
            .send(sink, Command::SignIn(method), SessionRequest::SignIn);
        self.sign_in = SignInState::InProgress { prompt: None };
        self.not_remembered = None;
    }

    /// Forgets the identity (and a saved sign-in) and tells the worker to sign out.
    pub fn sign_out(&mut self, shared: &mut Shared, sink: &mut dyn CommandSink) {
        self.remembered_device_code = None;
        self.sign_in_method = None;
        self.sign_in = SignInState::NotStarted;
        self.requests
            .send(sink, Command::SignOut, SessionRequest::SignOut);
        shared.set_notice("Signed out", false);
    }

    /// Stops a sign-in in progress.
    pub fn cancel_sign_in(&mut self, sink: &mut dyn CommandSink) {
        for id in self
            .requests
            .ids(|request| *request == SessionRequest::SignIn)
        {
            sink.cancel(id);
        }
        self.sign_in = SignInState::NotStarted;
    }

    /// Applies a progress event; true when the identity just signed in.
    pub fn apply_progress(&mut self, request: SessionRequest, kind: EventKind) -> bool {
        match (request, kind) {
            (SessionRequest::SignIn, EventKind::DeviceCode(prompt)) => {
                self.sign_in = SignInState::InProgress {
                    prompt: Some(prompt),
                };
                false
            }
            (SessionRequest::SignIn, EventKind::SignInNotRemembered(why)) => {
                self.not_remembered = Some(why);
                false
            }
            (SessionRequest::SignIn, EventKind::SignedIn(identity)) => {
                self.remembered_device_code = match &self.sign_in_method {
                    _ if self.not_remembered.is_some() => None,
                    Some(SignInMethod::DeviceCode { tenant, client_id })
                    | Some(SignInMethod::SavedDeviceCode { tenant, client_id }) => {
                        Some((tenant.clone(), client_id.clone()))
                    }
                    _ => None,
                };
                self.sign_in = SignInState::SignedIn(identity);
                true
            }
            (request, kind) => {
                tracing::warn!(?request, event = ?std::mem::discriminant(&kind), "event does not match its request");
                false
            }
        }
    }

    /// Applies a terminal event.
    pub fn finish(&mut self, request: SessionRequest, outcome: Outcome, shared: &mut Shared) {
        match request {
            SessionRequest::SignIn => {
                if let Outcome::Failed(error) = outcome {
                    if matches!(
                        self.sign_in_method,
                        Some(SignInMethod::SavedDeviceCode { .. })
                    ) {
                        self.remembered_device_code = None;
                    }
                    self.sign_in = SignInState::Failed(explain(&error));
                } else if let SignInState::InProgress { .. } = self.sign_in {
                    self.sign_in = SignInState::NotStarted;
                }
            }
            SessionRequest::SignOut => {
                if let Outcome::Failed(error) = outcome {
                    shared.set_notice(explain(&error), true);
                }
            }
        }
    }
}
