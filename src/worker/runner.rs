//! The dispatcher: one task per command on the tokio runtime, superseded commands cancelled, explicit
//! cancellation; any `CommandRunner` carries the commands out (`AzureRunner` in the app, fakes in tests).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::protocol::{Command, FailureReason, RequestId, SupersedeKey};
use super::reply::Reply;
pub use super::reply::Waker;
use crate::worker::Event;

/// Carries out one command, sending pages through `reply`; the dispatcher sends the terminal event.
pub trait CommandRunner: Send + Sync + 'static {
    fn run<'a>(
        &'a self,
        command: Command,
        reply: &'a Reply,
    ) -> Pin<Box<dyn Future<Output = Result<(), FailureReason>> + Send + 'a>>;
}

enum Envelope {
    Run(RequestId, Command),
    Cancel(RequestId),
}

/// The UI's handle on the worker. Cheap to clone; never blocks.
#[derive(Clone)]
pub struct WorkerHandle {
    commands: mpsc::UnboundedSender<Envelope>,
    events: Sender<Event>,
    waker: Waker,
    next_id: Arc<AtomicU64>,
}

impl WorkerHandle {
    /// Queues a command and returns its request id.
    pub fn send(&self, command: Command) -> RequestId {
        let request_id = RequestId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let operation = command.describe();
        if self
            .commands
            .send(Envelope::Run(request_id, command))
            .is_err()
        {
            // The worker is gone; answer here so the UI still gets its terminal event.
            Reply::new(
                request_id,
                operation,
                self.events.clone(),
                self.waker.clone(),
            )
            .finish(Err(FailureReason::Internal(
                "the background worker has stopped".into(),
            )));
        }
        request_id
    }

    /// Cancels a running command; it ends with `Cancelled` (or its own outcome if it finished first).
    pub fn cancel(&self, request_id: RequestId) {
        let _ = self.commands.send(Envelope::Cancel(request_id));
    }
}

/// Starts the dispatcher with any runner (tests use fakes).
pub fn spawn_with_runner(
    runtime: &tokio::runtime::Handle,
    runner: Arc<dyn CommandRunner>,
    waker: Waker,
) -> (WorkerHandle, Receiver<Event>) {
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = std::sync::mpsc::channel();
    let handle = WorkerHandle {
        commands: command_tx,
        events: event_tx.clone(),
        waker: waker.clone(),
        next_id: Arc::default(),
    };
    runtime.spawn(dispatch(
        runtime.clone(),
        command_rx,
        runner,
        event_tx,
        waker,
    ));
    (handle, event_rx)
}

async fn dispatch(
    runtime: tokio::runtime::Handle,
    mut commands: mpsc::UnboundedReceiver<Envelope>,
    runner: Arc<dyn CommandRunner>,
    events: Sender<Event>,
    waker: Waker,
) {
    let mut running: HashMap<RequestId, AbortHandle> = HashMap::new();
    let mut latest: HashMap<SupersedeKey, RequestId> = HashMap::new();
    while let Some(envelope) = commands.recv().await {
        running.retain(|_, task| !task.is_finished());
        match envelope {
            Envelope::Cancel(request_id) => {
                if let Some(task) = running.remove(&request_id) {
                    task.abort();
                }
            }
            Envelope::Run(request_id, command) => {
                if let Some(key) = command.supersede_key()
                    && let Some(previous) = latest.insert(key, request_id)
                    && let Some(task) = running.remove(&previous)
                {
                    task.abort();
                }
                // The reply is moved into the task before it first runs: aborting even an unstarted task
                // drops it, and its Drop sends the terminal `Cancelled`.
                let reply = Reply::new(
                    request_id,
                    command.describe(),
                    events.clone(),
                    waker.clone(),
                );
                let runner = runner.clone();
                let task = runtime.spawn(async move {
                    let reply = reply;
                    let result = runner.run(command, &reply).await;
                    reply.finish(result);
                });
                running.insert(request_id, task.abort_handle());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::identifiers::VaultUri;
    use crate::worker::protocol::{EventKind, Outcome};
    use std::time::Duration;

    /// Lists three pages per vault, 50 ms apart; panics for a vault named "crash".
    struct FakeRunner;

    impl CommandRunner for FakeRunner {
        fn run<'a>(
            &'a self,
            command: Command,
            reply: &'a Reply,
        ) -> Pin<Box<dyn Future<Output = Result<(), FailureReason>> + Send + 'a>> {
            Box::pin(async move {
                match command {
                    Command::LoadVault { vault } => {
                        assert!(vault.name() != "crash", "fake crash");
                        for _ in 0..3 {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            reply.send(EventKind::ObjectsPage {
                                vault: vault.clone(),
                                list: crate::azure::models::ListKind::default(),
                                items: Vec::new(),
                            });
                        }
                        Ok(())
                    }
                    _ => Err(FailureReason::NotSignedIn),
                }
            })
        }
    }

    fn vault(name: &str) -> Command {
        Command::LoadVault {
            vault: VaultUri::parse(&format!("https://{name}.vault.azure.net")).expect("uri"),
        }
    }

    /// Collects events until every id in `ids` has its terminal event; fails on a second terminal.
    fn collect(
        events: &Receiver<Event>,
        ids: &[RequestId],
    ) -> HashMap<RequestId, (usize, Outcome)> {
        let mut pages: HashMap<RequestId, usize> = HashMap::new();
        let mut done: HashMap<RequestId, (usize, Outcome)> = HashMap::new();
        while done.len() < ids.len() {
            let event = events
                .recv_timeout(Duration::from_secs(5))
                .expect("an event in time");
            assert!(
                !done.contains_key(&event.request_id),
                "event after terminal"
            );
            match event.kind {
                EventKind::Finished(outcome) => {
                    let count = pages.remove(&event.request_id).unwrap_or(0);
                    done.insert(event.request_id, (count, outcome));
                }
                _ => *pages.entry(event.request_id).or_default() += 1,
            }
        }
        // Nothing more may arrive for these ids.
        std::thread::sleep(Duration::from_millis(200));
        while let Ok(event) = events.try_recv() {
            assert!(!ids.contains(&event.request_id), "late event {event:?}");
        }
        done
    }

    fn start() -> (
        tokio::runtime::Runtime,
        WorkerHandle,
        Receiver<Event>,
        Arc<AtomicU64>,
    ) {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let wakes = Arc::new(AtomicU64::new(0));
        let counter = wakes.clone();
        let (handle, events) = spawn_with_runner(
            runtime.handle(),
            Arc::new(FakeRunner),
            Arc::new(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            }),
        );
        (runtime, handle, events, wakes)
    }

    #[test]
    fn every_command_gets_one_terminal_event_and_pages_stream_first() {
        let (_runtime, worker, events, wakes) = start();
        let listed = worker.send(vault("kv1"));
        let failed = worker.send(Command::ListSubscriptions);
        let done = collect(&events, &[listed, failed]);
        assert!(matches!(done[&listed], (3, Outcome::Done)));
        assert!(matches!(done[&failed], (0, Outcome::Failed(_))));
        assert!(
            wakes.load(Ordering::Relaxed) >= 5,
            "each event wakes the UI"
        );
    }

    #[test]
    fn a_reload_of_the_same_vault_supersedes_the_older_one_and_others_go_on() {
        let (_runtime, worker, events, _) = start();
        let other = worker.send(vault("kv2"));
        let first = worker.send(vault("kv1"));
        std::thread::sleep(Duration::from_millis(70));
        let second = worker.send(vault("kv1"));
        let done = collect(&events, &[other, first, second]);
        assert!(
            matches!(done[&other], (3, Outcome::Done)),
            "{:?}",
            done[&other]
        );
        assert!(
            matches!(done[&first].1, Outcome::Cancelled),
            "{:?}",
            done[&first]
        );
        assert!(done[&first].0 < 3);
        assert!(matches!(done[&second], (3, Outcome::Done)));
    }

    #[test]
    fn explicit_cancel_and_cancel_before_start_both_end_once() {
        let (_runtime, worker, events, _) = start();
        let id = worker.send(vault("kv1"));
        worker.cancel(id);
        let done = collect(&events, &[id]);
        assert!(matches!(done[&id].1, Outcome::Cancelled));
        // Cancelling an already finished command sends nothing more.
        worker.cancel(id);
        std::thread::sleep(Duration::from_millis(100));
        assert!(events.try_recv().is_err());
    }

    #[test]
    fn a_crashing_task_still_ends_with_a_failure() {
        let (_runtime, worker, events, _) = start();
        let id = worker.send(vault("crash"));
        let done = collect(&events, &[id]);
        assert!(matches!(done[&id].1, Outcome::Failed(_)), "{:?}", done[&id]);
    }

    #[test]
    fn a_stopped_worker_still_answers() {
        let (runtime, worker, events, _) = start();
        drop(runtime);
        let id = worker.send(vault("kv1"));
        let done = collect(&events, &[id]);
        assert!(matches!(done[&id].1, Outcome::Failed(_)));
    }
}
