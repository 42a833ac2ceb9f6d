//! `Reply`: how a task answers its command. It guarantees the terminal event by construction: `finish`
//! sends it, and dropping an unfinished `Reply` (the task was aborted, or panicked) sends `Cancelled` or
//! `Failed`, so no spinner in the UI can hang.

use std::sync::Arc;
use std::sync::mpsc::Sender;

use super::protocol::{Event, EventKind, FailureReason, Outcome, RequestId, WorkerError};

/// Wakes the UI after an event was queued (in the app, a repaint request to the window).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The answering side of one command.
pub struct Reply {
    request_id: RequestId,
    operation: String,
    events: Sender<Event>,
    waker: Waker,
    finished: bool,
}

impl Reply {
    pub fn new(
        request_id: RequestId,
        operation: String,
        events: Sender<Event>,
        waker: Waker,
    ) -> Self {
        Self {
            request_id,
            operation,
            events,
            waker,
            finished: false,
        }
    }

    pub fn request_id(&self) -> RequestId {
        self.request_id
    }

    /// Sends an intermediate event (a page, a prompt).
    pub fn send(&self, kind: EventKind) {
        debug_assert!(!matches!(kind, EventKind::Finished(_)), "use finish()");
        self.deliver(kind);
    }

    /// Sends the terminal event.
    pub fn finish(mut self, result: Result<(), FailureReason>) {
        let outcome = match result {
            Ok(()) => Outcome::Done,
            Err(source) => Outcome::Failed(WorkerError {
                operation: self.operation.clone(),
                source,
            }),
        };
        self.finished = true;
        self.deliver(EventKind::Finished(outcome));
    }

    fn deliver(&self, kind: EventKind) {
        // The UI may be gone (closing); nothing is left to tell then.
        let _ = self.events.send(Event {
            request_id: self.request_id,
            kind,
        });
        (self.waker)();
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let outcome = if std::thread::panicking() {
            Outcome::Failed(WorkerError {
                operation: self.operation.clone(),
                source: FailureReason::Internal("the task crashed".into()),
            })
        } else {
            Outcome::Cancelled
        };
        self.deliver(EventKind::Finished(outcome));
    }
}
