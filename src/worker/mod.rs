//! The background worker: receives `Command`s from the UI, runs them as async tasks against Azure (or the
//! emulator), and answers with `Event`s, exactly one terminal event per command.

pub mod access;
pub mod access_changes;
pub mod azure_runner;
pub mod bulk;
pub mod change_model;
pub mod changes;
mod consumers;
pub mod files;
mod fleet_discovery;
pub mod load_gate;
mod local_index;
mod paging;
pub mod protocol;
pub mod reply;
pub mod runner;
pub mod session;
mod sign_in;
pub mod transfer;
pub mod transfer_model;
pub mod transfer_plans;
mod vault_load;
mod who_can;

pub use azure_runner::spawn_worker;
pub use protocol::{
    Command, Event, EventKind, Outcome, PrincipalRef, RequestId, SignInMethod, SubscriptionScope,
    WorkerError,
};
pub use runner::{Waker, WorkerHandle};
pub use session::{Session, SessionSettings};
