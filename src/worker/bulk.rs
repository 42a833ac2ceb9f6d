//! Bulk runs: many changes, each carried out once, side by side under an adaptive bound that narrows on Key
//! Vault's 429s. An item still throttled after the pipeline's retries was not carried out (a 429 never is),
//! so it waits and goes again; no item is lost or done twice. Cancelling is a flag checked before each item
//! starts: items under way finish, the rest are reported as not started, so nothing is half-done.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;

use super::changes::{Change, ChangeResult, carry_out};
use super::load_gate::AdaptiveGate;
use super::protocol::{EventKind, FailureReason};
use super::reply::Reply;
use super::session::Session;
use crate::azure::AzureError;

/// How many items may be under way at once, whatever the adaptive bound says.
pub const BULK_MAX_IN_FLIGHT: usize = 32;
/// How long a throttled item waits before it goes again (Key Vault counts per 10 s window).
const THROTTLED_ITEM_PAUSE: Duration = Duration::from_secs(1);

/// The UI's way to stop a bulk run between items. Equal only to itself.
#[derive(Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl PartialEq for CancelFlag {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for CancelFlag {}

impl std::fmt::Debug for CancelFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CancelFlag({})", self.is_cancelled())
    }
}

/// How one item of a bulk run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkItemOutcome {
    Done(Box<ChangeResult>),
    /// The service refused or the call failed: the service's reason.
    Failed(String),
    /// Cancelled before it started: nothing was sent for it.
    NotStarted,
}

/// Carries out `items` under `gate`, reporting each item once as it ends (`BulkItem`).
pub async fn run_bulk(
    session: &Session,
    gate: &Arc<AdaptiveGate>,
    items: Vec<Change>,
    cancel: &CancelFlag,
    reply: &Reply,
) -> Result<(), FailureReason> {
    let mut results = futures_util::stream::iter(items.into_iter().enumerate())
        .map(|(index, change)| async move {
            let outcome = run_item(session, gate, &change, cancel).await;
            (index, outcome)
        })
        .buffer_unordered(BULK_MAX_IN_FLIGHT);
    while let Some((index, outcome)) = results.next().await {
        reply.send(EventKind::BulkItem { index, outcome });
    }
    Ok(())
}

async fn run_item(
    session: &Session,
    gate: &Arc<AdaptiveGate>,
    change: &Change,
    cancel: &CancelFlag,
) -> BulkItemOutcome {
    loop {
        let slot = gate.acquire().await;
        if cancel.is_cancelled() {
            return BulkItemOutcome::NotStarted;
        }
        match carry_out(session, change, &|_| {}).await {
            Ok(result) => return BulkItemOutcome::Done(Box::new(result)),
            Err(FailureReason::Azure(AzureError::Throttled { .. })) => {
                drop(slot);
                tokio::time::sleep(THROTTLED_ITEM_PAUSE).await;
            }
            Err(error) => return BulkItemOutcome::Failed(error.to_string()),
        }
    }
}
