//! Adaptive bounds on work that fans out across a fleet: how many vaults load at once, how many
//! subscriptions' vault lists are read at once. Each starts wide and follows the service with AIMD, as TCP
//! does: every answer that was not throttled adds `1/limit` (one more slot per round of answers), a 429
//! halves the limit — at most once per cool-down, since one burst of 429s is one signal — never below a
//! floor nor above a cap (`--parallel-vault-loads`). Written by hand: tokio's `Semaphore` cannot shrink
//! below the permits it has lent, and no maintained crate offers an AIMD limiter for async tasks.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::azure::Service;
use crate::azure::pipeline::ResponseObserver;

/// The additive-increase, multiplicative-decrease limit itself: pure, driven by the caller's clock.
#[derive(Debug, Clone)]
pub struct Aimd {
    limit: f64,
    min: f64,
    max: f64,
    cooldown: Duration,
    /// No second decrease before this instant.
    quiet_until: Option<Instant>,
}

impl Aimd {
    /// Starts at `start` (clamped to `min..=max`).
    pub fn new(start: usize, min: usize, max: usize, cooldown: Duration) -> Self {
        let (min, max) = (min.max(1) as f64, max.max(min.max(1)) as f64);
        Self {
            limit: (start as f64).clamp(min, max),
            min,
            max,
            cooldown,
            quiet_until: None,
        }
    }

    /// How many may run at once now.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// An answer that was not throttled: one more slot per `limit` such answers.
    pub fn on_success(&mut self) {
        self.limit = (self.limit + 1.0 / self.limit).min(self.max);
    }

    /// A 429: half the slots, unless the last halving was less than a cool-down ago.
    pub fn on_throttled(&mut self, now: Instant) {
        if self.quiet_until.is_some_and(|until| now < until) {
            return;
        }
        self.limit = (self.limit / 2.0).max(self.min);
        self.quiet_until = Some(now + self.cooldown);
    }
}

#[derive(Debug)]
struct GateState {
    aimd: Aimd,
    in_flight: usize,
}

/// An async gate whose width is an [`Aimd`] limit, fed by the responses of one service.
#[derive(Debug)]
pub struct AdaptiveGate {
    service: Service,
    state: Mutex<GateState>,
    changed: Notify,
}

/// A slot in the gate; dropping it (the work ended, or its task was cancelled) frees the slot.
#[derive(Debug)]
pub struct GatePermit {
    gate: Arc<AdaptiveGate>,
}

impl Drop for GatePermit {
    fn drop(&mut self) {
        self.gate.lock().in_flight -= 1;
        self.gate.changed.notify_waiters();
    }
}

impl AdaptiveGate {
    /// A gate for work on `service`, following `aimd`.
    pub fn new(service: Service, aimd: Aimd) -> Arc<Self> {
        Arc::new(Self {
            service,
            state: Mutex::new(GateState { aimd, in_flight: 0 }),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for a free slot. Cancel-safe: a dropped wait holds nothing.
    pub async fn acquire(self: &Arc<Self>) -> GatePermit {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so a release between the check and the wait is not lost.
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if state.in_flight < state.aimd.limit() {
                    state.in_flight += 1;
                    return GatePermit { gate: self.clone() };
                }
            }
            notified.await;
        }
    }

    /// The current width (for tests and benchmarks).
    pub fn limit(&self) -> usize {
        self.lock().aimd.limit()
    }

    /// Slots taken now.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }
}

impl ResponseObserver for AdaptiveGate {
    fn observe(&self, service: Service, throttled: bool) {
        if service != self.service {
            return;
        }
        let widened = {
            let mut state = self.lock();
            let before = state.aimd.limit();
            if throttled {
                state.aimd.on_throttled(Instant::now());
            } else {
                state.aimd.on_success();
            }
            state.aimd.limit() > before
        };
        if widened {
            self.changed.notify_waiters();
        }
    }
}

/// Several observers as one (the pipeline reports to one).
pub struct Observers(pub Vec<Arc<dyn ResponseObserver>>);

impl ResponseObserver for Observers {
    fn observe(&self, service: Service, throttled: bool) {
        for observer in &self.0 {
            observer.observe(service, throttled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aimd_halves_once_per_cooldown_and_grows_one_per_round() {
        let start = Instant::now();
        let mut aimd = Aimd::new(64, 2, 64, Duration::from_secs(1));
        aimd.on_throttled(start);
        assert_eq!(aimd.limit(), 32);
        aimd.on_throttled(start + Duration::from_millis(500));
        assert_eq!(aimd.limit(), 32, "one burst is one signal");
        aimd.on_throttled(start + Duration::from_secs(1));
        assert_eq!(aimd.limit(), 16);
        for _ in 0..17 {
            aimd.on_success();
        }
        assert_eq!(aimd.limit(), 17, "one slot per round of answers");
        for step in 0..20 {
            aimd.on_throttled(start + Duration::from_secs(2 + step));
        }
        assert_eq!(aimd.limit(), 2, "never below the floor");
        for _ in 0..100_000 {
            aimd.on_success();
        }
        assert_eq!(aimd.limit(), 64, "never above the cap");
        assert_eq!(Aimd::new(500, 2, 8, Duration::ZERO).limit(), 8);
    }

    #[tokio::test]
    async fn the_gate_admits_up_to_its_limit_and_follows_the_service() {
        let gate = AdaptiveGate::new(
            Service::KeyVault,
            Aimd::new(2, 1, 4, Duration::from_secs(60)),
        );
        let first = gate.acquire().await;
        let _second = gate.acquire().await;
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.acquire().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a third waits while two run");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("admitted once a slot is free")
            .expect("task");
        assert_eq!(gate.in_flight(), 2);
        gate.observe(Service::ResourceManager, true);
        assert_eq!(gate.limit(), 2, "another service's throttling is not ours");
        gate.observe(Service::KeyVault, true);
        assert_eq!(gate.limit(), 1);
        drop(third);
        gate.observe(Service::KeyVault, false);
        assert_eq!(gate.limit(), 2);
    }
}
