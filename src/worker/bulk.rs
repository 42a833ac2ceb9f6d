//! Bulk runs: many changes, each carried out once, side by side under an adaptive bound that narrows on Key
//! Vault's 429s. An item still throttled after the pipeline's retries was not carried out (a 429 never is),
//! so it waits and goes again; no item is lost or done twice. Cancelling is a flag checked before each item
//! starts: items under way finish, the rest are reported as not started, so nothing is half-done.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

pub use super::change_model::{BulkItemOutcome, CancelFlag};
use super::changes::{Change, carry_out};
use super::load_gate::AdaptiveGate;
use super::protocol::{EventKind, FailureReason};
use super::reply::Reply;
use super::session::Session;
use crate::azure::AzureError;

/// How many items may be under way at once, whatever the adaptive bound says.
pub const BULK_MAX_IN_FLIGHT: usize = 32;
/// How long a throttled item waits before it goes again (Key Vault counts per 10 s window).
const THROTTLED_ITEM_PAUSE: Duration = Duration::from_secs(1);

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
