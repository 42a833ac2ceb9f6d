//! What every feature of the UI state shares: load status, notices, the clipboard request, the command sink
//! and the table of a feature's pending requests. Below every feature: of the state it imports only `errors`.

use std::collections::HashMap;

use secrecy::SecretString;

use crate::worker::{Command, Outcome, RequestId, WorkerError};

use super::errors::{Attempt, Forbidden, explain, permission_denied};

/// Where commands go: the worker in the app, a recorder in tests.
pub trait CommandSink {
    fn send(&mut self, command: Command) -> RequestId;
    /// Cancels a running command; it still ends with one terminal event.
    fn cancel(&mut self, request_id: RequestId);
}

impl CommandSink for crate::worker::WorkerHandle {
    fn send(&mut self, command: Command) -> RequestId {
        crate::worker::WorkerHandle::send(self, command)
    }

    fn cancel(&mut self, request_id: RequestId) {
        crate::worker::WorkerHandle::cancel(self, request_id);
    }
}

/// The life of something loaded from the worker.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LoadStatus {
    #[default]
    NotLoaded,
    Loading,
    Loaded,
    Failed(String),
}

impl LoadStatus {
    pub fn is_loading(&self) -> bool {
        matches!(self, Self::Loading)
    }
}

/// A terminal outcome as a load status; a cancelled load is incomplete, so it shows as not loaded and is
/// fetched again when needed.
pub fn status_of(outcome: &Outcome) -> LoadStatus {
    match outcome {
        Outcome::Done => LoadStatus::Loaded,
        Outcome::Failed(error) => LoadStatus::Failed(explain(error)),
        Outcome::Cancelled => LoadStatus::NotLoaded,
    }
}

/// A transient message in the status bar (copy confirmations, errors of background work).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// Text to put on the clipboard this frame; the app hands it to egui. `Debug` shows no text
/// (`SecretString` redacts itself).
#[derive(Debug)]
pub struct ClipboardRequest {
    pub text: SecretString,
    /// A secret value: kept out of clipboard history and cleared after a delay.
    pub is_secret: bool,
}

/// The colour theme the person picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeChoice {
    Dark,
    Light,
}

/// Which view fills the centre of the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CentreView {
    #[default]
    Secrets,
    Access,
}

/// What the features write for the rest of the window: the notice, this frame's clipboard text and URL to
/// open, and the last permission 403 met while browsing.
#[derive(Debug, Default)]
pub struct Shared {
    pub notice: Option<Notice>,
    /// The last permission 403 met while browsing, for the "check my access" help.
    pub forbidden: Option<Forbidden>,
    pub clipboard: Option<ClipboardRequest>,
    pub url_to_open: Option<String>,
}

impl Shared {
    pub fn set_notice(&mut self, text: impl Into<String>, is_error: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            is_error,
        });
    }

    /// Puts a non-secret text (identifier, name, reference) on the clipboard and says so.
    /// Copies plain text (an identifier, a command, a link): any deceptive character in it (a bidi
    /// override in a name a service sent) is copied as its visible escape.
    pub fn copy_text(&mut self, what: &str, text: String) {
        let text = crate::untrusted_text::escape_deceptive(&text).into_owned();
        self.clipboard = Some(ClipboardRequest {
            text: SecretString::from(text),
            is_secret: false,
        });
        self.set_notice(format!("Copied {what}"), false);
    }

    /// Remembers a permission 403 for the "check my access" help and returns its sentence; `None` for
    /// any other failure.
    pub fn note_denied(&mut self, error: &WorkerError, attempt: Attempt<'_>) -> Option<String> {
        let forbidden = permission_denied(error, attempt)?;
        let message = forbidden.message.clone();
        self.forbidden = Some(forbidden);
        Some(message)
    }
}

/// One feature's requests still awaited, each with what it is for. An event whose request id is not here
/// (superseded, or for a view the person left) is not this feature's, or is stale.
#[derive(Debug)]
pub struct Requests<R> {
    pending: HashMap<RequestId, R>,
    /// Reads forgotten since the last `take_forgotten`: to be cancelled in the worker.
    forgotten: Vec<RequestId>,
}

impl<R> Default for Requests<R> {
    fn default() -> Self {
        Self {
            pending: HashMap::new(),
            forgotten: Vec::new(),
        }
    }
}

impl<R> Requests<R> {
    /// Sends `command` and remembers what it is for.
    pub fn send(&mut self, sink: &mut dyn CommandSink, command: Command, purpose: R) -> RequestId {
        let id = sink.send(command);
        self.pending.insert(id, purpose);
        id
    }

    pub fn get(&self, id: RequestId) -> Option<&R> {
        self.pending.get(&id)
    }

    /// The request ended: what it was for.
    pub fn finish(&mut self, id: RequestId) -> Option<R> {
        self.pending.remove(&id)
    }

    /// Stops waiting for the reads `is_forgotten` picks: their events are dropped from now on, and the
    /// app cancels them in the worker (`take_forgotten`), so a value nobody waits for is not fetched.
    pub fn forget(&mut self, is_forgotten: impl Fn(&R) -> bool) {
        let forgotten = &mut self.forgotten;
        self.pending.retain(|id, purpose| {
            let forget = is_forgotten(purpose);
            if forget {
                forgotten.push(*id);
            }
            !forget
        });
    }

    /// Stops waiting for the requests `is_dropped` picks but lets them run to their end: for writes,
    /// which are never cancelled half-way.
    pub fn stop_waiting(&mut self, is_dropped: impl Fn(&R) -> bool) {
        self.pending.retain(|_, purpose| !is_dropped(purpose));
    }

    /// The reads forgotten since the last call, for the app to cancel.
    pub fn take_forgotten(&mut self) -> Vec<RequestId> {
        std::mem::take(&mut self.forgotten)
    }

    /// Cancels every request in the worker and stops waiting for them.
    pub fn cancel_all(&mut self, sink: &mut dyn CommandSink) {
        for id in self.pending.keys() {
            sink.cancel(*id);
        }
        self.pending.clear();
    }

    /// The ids of the requests `is_picked` picks.
    pub fn ids(&self, is_picked: impl Fn(&R) -> bool) -> Vec<RequestId> {
        self.pending
            .iter()
            .filter(|(_, purpose)| is_picked(purpose))
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
