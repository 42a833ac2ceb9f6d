//! A local Azure over HTTPS: Entra (token and device-code endpoints), ARM, and Key Vault, on one loopback port
//! with virtual hosts (`login.localhost`, `management.localhost`, `graph.localhost`, `{vault}.vault.localhost`).
//! It is the demo, the test bed and the benchmark target; wire formats follow
//! `shared/reference/azure-protocols.md`.
// Handlers short-circuit with a ready `Response` as their error, the usual axum idiom; boxing it would
// only add noise to every early return.
#![allow(clippy::result_large_err)]

mod arm;
mod authz;
mod endpoints;
mod entra;
pub mod faults;
mod graph;
mod keyvault;
mod managed_identity;
pub use managed_identity::LegacyMsiFlavour;
pub mod material;
pub mod persistence;
mod responses;
mod roles;
pub mod seed;
mod seeding;
pub mod site_state;
pub mod sites;
pub mod state;
pub mod throttle;
mod tls;
pub mod token;
mod token_control;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::cloud::{CloudError, CloudProfile};
use seed::Seed;
use state::{CloudState, Principal};
use token::{Claims, TokenSigner};

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// 0 picks a free ephemeral port.
    pub port: u16,
    pub seed: Seed,
    /// Added before every response.
    pub latency: Duration,
    /// Approve every device code at once for the seed's demo user (demo mode and tests).
    pub auto_approve_device_codes: bool,
    /// Where to write `ca.pem`; a fresh temporary directory when `None`.
    pub ca_dir: Option<PathBuf>,
    /// Fault injection for the ARM, Graph and Key Vault hosts.
    pub faults: faults::Faults,
    /// How long a certificate's creation stays `inProgress` before the pending GET completes it.
    pub certificate_issuance: Duration,
    /// How long access changes (role assignments, access policies) take to reach the data plane.
    pub access_propagation: Duration,
    /// Throttle each vault at Key Vault's published limits (`--throttle-model azure`).
    pub azure_throttling: bool,
    /// How long a connection may take to finish its TLS handshake, and an HTTP/1 request its headers,
    /// before it is closed: half-open connections must not stay forever.
    pub connection_timeout: Duration,
    /// Which 2017-09-01 answer `MSI_ENDPOINT` names (App Service's date, or Azure ML's seconds).
    pub legacy_msi_flavour: LegacyMsiFlavour,
    /// Keep the CA, the signing key and every write here across restarts (`--state-dir`); in memory
    /// only when `None`.
    pub state_dir: Option<PathBuf>,
}

/// How long a self-signed certificate takes to issue by default: long enough to be seen pending.
pub const DEFAULT_CERTIFICATE_ISSUANCE: Duration = Duration::from_secs(2);

/// A connection's TLS handshake and an HTTP/1 request's headers must arrive within this.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

impl EmulatorConfig {
    /// The bundled demo seed on an ephemeral port, no latency, device codes auto-approved.
    pub fn demo() -> Result<Self, EmulatorError> {
        Ok(Self {
            port: 0,
            seed: seed::parse_seed(seed::DEMO_SEED_JSON)
                .map_err(|error| EmulatorError::Seed(error.to_string()))?,
            latency: Duration::ZERO,
            auto_approve_device_codes: true,
            ca_dir: None,
            faults: faults::Faults::default(),
            certificate_issuance: DEFAULT_CERTIFICATE_ISSUANCE,
            access_propagation: Duration::ZERO,
            azure_throttling: false,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            legacy_msi_flavour: LegacyMsiFlavour::AppService,
            state_dir: None,
        })
    }
}

/// The emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    #[error("invalid seed data: {0}")]
    Seed(String),
    #[error(transparent)]
    Tls(#[from] tls::TlsSetupError),
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
    #[error("cannot write the CA certificate to {path}: {source}")]
    WriteCa {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error(transparent)]
    SigningKey(#[from] token::SigningKeyError),
    #[error(transparent)]
    Persistence(#[from] persistence::PersistenceError),
}

/// State shared by every request handler.
pub(crate) struct Shared {
    pub(crate) cloud: RwLock<CloudState>,
    pub(crate) signer: TokenSigner,
    pub(crate) port: u16,
    pub(crate) latency_ms: AtomicU64,
    pub(crate) auto_approve_device_codes: bool,
    /// The App Service `IDENTITY_HEADER` / legacy `MSI_SECRET` value the managed-identity endpoints expect.
    pub(crate) identity_header: String,
    pub(crate) legacy_msi_flavour: LegacyMsiFlavour,
    /// Where writes are saved (`--state-dir`), if anywhere.
    pub(crate) state_dir: Option<persistence::StateDir>,
    pub(crate) faults: RwLock<faults::Faults>,
    pub(crate) request_log: faults::RequestLog,
    pub(crate) certificate_issuance_ms: AtomicU64,
    pub(crate) azure_throttling: std::sync::atomic::AtomicBool,
    pub(crate) vault_throttle: throttle::VaultThrottle,
    /// The number of the last access token issued (its `uti`).
    pub(crate) tokens_issued: AtomicU64,
    /// Tokens numbered up to this are revoked (0: none), and whether services say so with a Continuous
    /// Access Evaluation claims challenge.
    pub(crate) revoked_through: AtomicU64,
    pub(crate) revocation_is_cae: std::sync::atomic::AtomicBool,
    /// Every refresh-token grant is refused (a revoked session), for tests of half-done sign-ins.
    pub(crate) refresh_tokens_refused: std::sync::atomic::AtomicBool,
    /// The newest secrets the emulator handed out (access and refresh tokens, device codes), so a
    /// leak scan can look for each; bounded.
    pub(crate) issued: std::sync::Mutex<std::collections::VecDeque<String>>,
}

/// How many issued secrets `Shared::issued` keeps.
const ISSUED_KEPT: usize = 20_000;

/// How a service refuses a revoked token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revoked {
    /// A plain 401 with the usual challenge: get a new token.
    Plainly,
    /// A CAE `insufficient_claims` challenge.
    WithClaimsChallenge,
}

impl Shared {
    /// Records a secret handed to a client (a token, a refresh token, a device code).
    pub(crate) fn record_issued(&self, secret: &str) {
        let mut issued = self
            .issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if issued.len() >= ISSUED_KEPT {
            issued.pop_front();
        }
        issued.push_back(secret.to_owned());
    }

    /// Whether `claims` names a token revoked by `Emulator::revoke_issued_tokens`.
    pub(crate) fn revoked(&self, claims: &Claims) -> Option<Revoked> {
        (claims.uti != 0 && claims.uti <= self.revoked_through.load(Ordering::SeqCst)).then(|| {
            if self.revocation_is_cae.load(Ordering::SeqCst) {
                Revoked::WithClaimsChallenge
            } else {
                Revoked::Plainly
            }
        })
    }

    /// The `WWW-Authenticate` of a CAE refusal, as Entra-protected services send it: the claims ask for a
    /// token issued after now (`nbf` essential).
    pub(crate) fn claims_challenge(&self, tenant_id: &str) -> String {
        use base64::Engine;
        let claims = format!(
            r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{}"}}}}}}"#,
            now_unix()
        );
        format!(
            "Bearer realm=\"\", authorization_uri=\"{}/{tenant_id}/oauth2/authorize\", error=\"insufficient_claims\", error_description=\"The session was revoked\", claims=\"{}\"",
            self.login_base(),
            base64::engine::general_purpose::STANDARD.encode(claims)
        )
    }

    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, CloudState> {
        self.cloud
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, CloudState> {
        self.cloud
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn login_base(&self) -> String {
        format!("https://login.localhost:{}", self.port)
    }

    pub(crate) fn management_audience(&self) -> String {
        format!("https://management.localhost:{}", self.port)
    }

    pub(crate) fn vault_audience(&self) -> String {
        format!("https://vault.localhost:{}", self.port)
    }

    /// Mints a one-hour access token for `principal` and `audience`.
    pub(crate) fn issue_access_token(
        &self,
        principal: &Principal,
        audience: &str,
        client_app: Option<&str>,
    ) -> (String, i64) {
        let now = now_unix();
        let lifetime = 3600;
        let claims = Claims {
            aud: audience.trim_end_matches('/').to_owned(),
            iss: format!("{}/{}/v2.0", self.login_base(), principal.tenant_id),
            iat: now,
            nbf: now,
            exp: now + lifetime,
            oid: principal.object_id.clone(),
            sub: principal.object_id.clone(),
            tid: principal.tenant_id.clone(),
            upn: principal.upn.clone(),
            name: Some(principal.display_name.clone()),
            appid: principal
                .app_id
                .clone()
                .or_else(|| client_app.map(str::to_owned)),
            idtyp: if principal.is_user { "user" } else { "app" }.to_owned(),
            uti: self.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1,
        };
        let token = self.signer.sign(&claims);
        self.record_issued(&token);
        (token, lifetime)
    }
}

pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A running emulator. Dropping it (or `shutdown`) stops accepting connections.
pub struct Emulator {
    port: u16,
    ca_pem: String,
    ca_path: PathBuf,
    shared: Arc<Shared>,
    app: Router,
    stop: watch::Sender<bool>,
    /// The private temporary directory of `ca.pem` (owner-only, a random name; removed on drop).
    _ca_dir_guard: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds 127.0.0.1, makes the CA and starts serving on the current tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port)))
            .await
            .map_err(|source| EmulatorError::Listen {
                port: config.port,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| EmulatorError::Listen {
                port: config.port,
                source,
            })?
            .port();
        let (state_dir, tls, signer) = persistence::open(config.state_dir.as_deref())?;
        let ca_dir = config
            .ca_dir
            .or_else(|| state_dir.as_ref().map(|state| state.path().to_owned()));
        let (ca_dir, guard) = match ca_dir {
            Some(dir) => (dir, None),
            None => {
                // A fresh directory with a random name, created 0700 by mkdtemp: nothing can be planted
                // or linked in it beforehand, as a predictable /tmp name allowed.
                let dir = tempfile::Builder::new()
                    .prefix("vaultscope-emulator-")
                    .tempdir()
                    .map_err(|source| EmulatorError::WriteCa {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                (dir.path().to_owned(), Some(dir))
            }
        };
        let ca_path = ca_dir.join("ca.pem");
        std::fs::create_dir_all(&ca_dir)
            .and_then(|()| std::fs::write(&ca_path, &tls.ca_pem))
            .map_err(|source| EmulatorError::WriteCa {
                path: ca_path.clone(),
                source,
            })?;

        let mut tokens_issued = 0;
        let shared = Arc::new(Shared {
            cloud: RwLock::new({
                let mut cloud =
                    CloudState::from_seed(&config.seed, now_unix()).map_err(EmulatorError::Seed)?;
                cloud.access_history.propagation = config.access_propagation;
                if let Some(state) = &state_dir {
                    tokens_issued = state.restore(&mut cloud)?.unwrap_or(0);
                }
                cloud
            }),
            signer,
            port,
            latency_ms: AtomicU64::new(config.latency.as_millis() as u64),
            auto_approve_device_codes: config.auto_approve_device_codes,
            identity_header: uuid::Uuid::new_v4().simple().to_string(),
            legacy_msi_flavour: config.legacy_msi_flavour,
            state_dir,
            faults: RwLock::new(config.faults.clone()),
            request_log: faults::RequestLog::default(),
            certificate_issuance_ms: AtomicU64::new(
                u64::try_from(config.certificate_issuance.as_millis()).unwrap_or(u64::MAX),
            ),
            azure_throttling: std::sync::atomic::AtomicBool::new(config.azure_throttling),
            vault_throttle: throttle::VaultThrottle::default(),
            tokens_issued: AtomicU64::new(tokens_issued),
            revoked_through: AtomicU64::new(0),
            revocation_is_cae: std::sync::atomic::AtomicBool::new(false),
            refresh_tokens_refused: std::sync::atomic::AtomicBool::new(false),
            issued: std::sync::Mutex::default(),
        });
        let routers = Arc::new(Routers {
            login: entra::router(shared.clone()).merge(managed_identity::router(shared.clone())),
            management: arm::router(shared.clone()),
            graph: graph::router(shared.clone()),
            vault: keyvault::router(shared.clone()),
            shared: shared.clone(),
        });
        let app = Router::new().fallback(route_by_host).with_state(routers);
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(serve(
            listener,
            tls.server_config,
            app.clone(),
            shared.clone(),
            stopped,
            config.connection_timeout,
        ));
        tracing::info!(port, "emulator listening");
        Ok(Self {
            port,
            ca_pem: tls.ca_pem,
            ca_path,
            shared,
            app,
            stop,
            _ca_dir_guard: guard,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA certificate (PEM) clients must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where `ca.pem` was written (for curl `--cacert` and other clients).
    pub fn ca_path(&self) -> &std::path::Path {
        &self.ca_path
    }

    /// The `Local` cloud profile pointing at this emulator.
    pub fn cloud_profile(&self) -> Result<CloudProfile, EmulatorError> {
        Ok(CloudProfile::local(self.port, &self.ca_pem)?)
    }

    /// The first seeded tenant (the demo tenant).
    pub fn demo_tenant_id(&self) -> String {
        self.shared
            .read()
            .tenants
            .first()
            .map(|tenant| tenant.id.clone())
            .unwrap_or_else(|| "common".into())
    }

    /// Replaces the fault-injection rates (for tests and the `emulator` command's flags).
    pub fn set_faults(&self, faults: faults::Faults) {
        *self
            .shared
            .faults
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = faults;
    }

    /// Every request served so far (method, host, path, status, principal), oldest first.
    pub fn request_log(&self) -> Vec<faults::LoggedRequest> {
        self.shared.request_log.snapshot()
    }

    pub fn clear_request_log(&self) {
        self.shared.request_log.clear();
    }

    /// How many requests the log holds, readable from anywhere (a test looks from inside a frame).
    pub fn request_counter(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || shared.request_log.snapshot().len()
    }

    /// Mints a token for any directory principal (user or service principal, by object id) and audience,
    /// as Entra would after a successful sign-in: a test API for checking what each principal may do.
    pub fn token_for(&self, object_id: &str, audience: &str) -> Option<String> {
        let principal = {
            let cloud = self.shared.read();
            cloud
                .user_by_id(object_id)
                .or_else(|| cloud.service_principal_by_id(object_id))
        }?;
        Some(self.shared.issue_access_token(&principal, audience, None).0)
    }

    /// Makes every pending device code expire now (tests of the `expired_token` answer).
    pub fn expire_device_codes(&self) {
        for state in self.shared.write().device_codes.values_mut() {
            state.expires_at = 0;
        }
    }

    /// Changes the latency added to every response.
    /// Turns Key Vault's published per-vault limits on or off (`--throttle-model azure`).
    pub fn set_azure_throttling(&self, on: bool) {
        self.shared.azure_throttling.store(on, Ordering::Relaxed);
    }

    /// How long access changes from now on take to reach the data plane.
    pub fn set_access_propagation(&self, propagation: Duration) {
        self.shared.write().access_history.propagation = propagation;
    }

    /// How long certificates created from now on stay `inProgress`.
    pub fn set_certificate_issuance(&self, issuance: Duration) {
        self.shared.certificate_issuance_ms.store(
            u64::try_from(issuance.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// Adds an empty vault `name` beside `like` (same subscription, resource group, location, access),
    /// for tests that need a clean target; `false` when `like` does not exist or `name` is taken.
    pub fn add_empty_vault(&self, like: &str, name: &str) -> bool {
        let mut cloud = self.shared.write();
        if cloud.vaults.contains_key(name) {
            return false;
        }
        let Some(copy) = cloud.vaults.get(like).map(|vault| vault.emptied_copy(name)) else {
            return false;
        };
        cloud.vaults.insert(name.to_owned(), copy);
        true
    }

    /// Moves a vault to another region (tests of the backup's geography rule).
    pub fn set_vault_location(&self, name: &str, location: &str) {
        if let Some(vault) = self.shared.write().vaults.get_mut(name) {
            vault.location = location.to_owned();
        }
    }

    /// Names of all vaults with their secret counts (for tests and benchmarks).
    pub fn vault_secret_counts(&self) -> Vec<(String, usize)> {
        self.shared
            .read()
            .vaults
            .values()
            .map(|vault| {
                (
                    vault.name.clone(),
                    vault.objects(state::ObjectKind::Secret).len(),
                )
            })
            .collect()
    }

    /// The whole emulator as one tower service, every host behind it (what a connection is served by, minus
    /// TLS and the per-connection fault draw): for driving the routers without a socket, as the fuzzer does.
    pub fn service(&self) -> Router {
        self.app.clone()
    }

    /// The first seeded user (the demo's signed-in person).
    pub fn demo_user_id(&self) -> Option<String> {
        self.shared.read().users.first().map(|user| user.id.clone())
    }

    /// Stops accepting connections.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        // Writes are saved as they happen; this also keeps the count of tokens issued by reads (a
        // managed-identity GET), so numbering goes on after a restart.
        if let Err(error) = persistence::save_now(&self.shared) {
            tracing::error!(%error, "the emulator's state could not be saved at shutdown");
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Routers {
    login: Router,
    management: Router,
    graph: Router,
    vault: Router,
    shared: Arc<Shared>,
}

/// The client's IP address, as the TCP connection saw it (for the vault firewall).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddress(pub std::net::IpAddr);

/// Which vault a request on `{vault}.vault.localhost` is for, and the authority it used.
#[derive(Debug, Clone)]
pub(crate) struct VaultHost {
    pub name: String,
    pub authority: String,
}

/// The authority (`host:port`) a request was sent to: `Host` (HTTP/1.1) or the URI (HTTP/2 `:authority`).
pub(crate) fn request_authority(request: &Request) -> String {
    request
        .uri()
        .authority()
        .map(|authority| authority.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(axum::http::header::HOST)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default()
        .to_ascii_lowercase()
}

async fn route_by_host(State(routers): State<Arc<Routers>>, request: Request) -> Response {
    let arrived = request
        .extensions()
        .get::<Arrived>()
        .map_or_else(std::time::Instant::now, |arrived| arrived.0);
    let latency = Duration::from_millis(routers.shared.latency_ms.load(Ordering::Relaxed));
    let decision = request
        .extensions()
        .get::<faults::Decision>()
        .copied()
        .unwrap_or(faults::Decision::Serve);
    let method = request.method().to_string();
    let host = request_authority(&request);
    let path = request.uri().path().to_owned();
    let principal =
        faults::token_object_id(request.headers().get(axum::http::header::AUTHORIZATION));
    let injected = routers
        .shared
        .faults
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .response(decision);
    let writes = !matches!(method.as_str(), "GET" | "HEAD");
    let mut response = match injected {
        Some(response) => response,
        None => dispatch_by_host(&routers, request).await,
    };
    let saves = writes && response.status().is_success() && routers.shared.state_dir.is_some();
    if saves && let Err(error) = persistence::save_after_write(routers.shared.clone()).await {
        // The write happened in memory but would not survive a restart: say so, as a 500 does.
        tracing::error!(%error, "the emulator's state could not be saved");
        response = responses::arm_error(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "StateNotSaved",
            &format!("The change was made but could not be saved to the state directory: {error}"),
        );
    }
    // Logged before the simulated latency, so the log's bookkeeping is inside it, not after it.
    routers.shared.request_log.record(faults::LoggedRequest {
        method,
        host,
        path,
        status: Some(response.status().as_u16()),
        principal,
    });
    if !latency.is_zero() {
        wait_until(arrived + latency).await;
    }
    response
}

/// When hyper handed a request to the emulator: its simulated latency runs from here, so the routing and
/// fault drawing in front of the handler are inside it, as a real service's own processing is.
#[derive(Clone, Copy)]
struct Arrived(std::time::Instant);

/// Requests now in their simulated latency (see [`wait_until`]).
static WAITING: AtomicU64 = AtomicU64::new(0);

/// Waits until `deadline` to within a few tens of microseconds. Like a real service, the emulator's simulated
/// latency runs from the request's arrival and includes its own processing. tokio's timer has millisecond
/// granularity and rounds up (a 10 ms sleep lasts 10–11 ms), and an OS sleep overshoots by its timer slack
/// and the wake-up of a parked thread (0.25 ms measured here, twice per request through a blocking
/// thread), either of which would add to every latency-bound figure. So the wait sleeps on tokio's timer
/// until 2 ms before; then a request waiting alone spins out the rest on its worker, yielding to any other
/// task (no thread to wake); a few waiting side by side sleep on blocking threads with the OS timer until
/// 0.2 ms before and spin there; under load (more than `PRECISE_WAITERS` waiting, e.g. a fleet loading at
/// once) the rest is slept on tokio's timer, since spinning threads would take the cores the requests
/// need (the overshoot, under 1 ms, is then small beside the queueing).
async fn wait_until(deadline: std::time::Instant) {
    const SPIN: Duration = Duration::from_micros(200);
    const PRECISE_WAITERS: u64 = 8;
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let alone = WAITING.fetch_add(1, Ordering::Relaxed) == 0;
    let _waiting = Waiting;
    let coarse = deadline.checked_sub(Duration::from_millis(2));
    if let Some(coarse) = coarse
        && coarse > std::time::Instant::now()
    {
        tokio::time::sleep_until(coarse.into()).await;
    }
    if alone && WAITING.load(Ordering::Relaxed) == 1 {
        while std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        return;
    }
    if std::time::Instant::now() >= deadline {
        return;
    }
    if WAITING.load(Ordering::Relaxed) > PRECISE_WAITERS {
        tokio::time::sleep_until(deadline.into()).await;
        return;
    }
    let _ = tokio::task::spawn_blocking(move || {
        let now = std::time::Instant::now();
        if let Some(sleep_until) = deadline.checked_sub(SPIN)
            && sleep_until > now
        {
            std::thread::sleep(sleep_until - now);
        }
        while std::time::Instant::now() < deadline {
            std::hint::spin_loop();
        }
    })
    .await;
}

/// Puts the emulator's own authority (`host:configured port`) in place of what the client sent, so ids
/// and nextLinks are built from the configured host names: a `Host` of `management.localhost:1@evil.example`
/// or with a port that is not a number must never be reflected into a link (nor make a handler panic).
fn canonicalize_authority(request: &mut Request, authority: &str) {
    if let Ok(value) = axum::http::HeaderValue::from_str(authority) {
        request
            .headers_mut()
            .insert(axum::http::header::HOST, value);
    }
    if request.uri().authority().is_some() {
        let mut parts = request.uri().clone().into_parts();
        if let Ok(canonical) = authority.parse::<axum::http::uri::Authority>() {
            parts.authority = Some(canonical);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
}

/// Whether `name` can be a vault's name (Key Vault: letters, digits and hyphens).
fn is_vault_label(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
}

async fn dispatch_by_host(routers: &Routers, mut request: Request) -> Response {
    let sent = request_authority(&request);
    // The host name only: a port, userinfo or anything after it is not the client's to choose.
    let host = sent
        .split([':', '@', '/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_owned();
    let authority = format!("{host}:{}", routers.shared.port);
    canonicalize_authority(&mut request, &authority);
    let router = match host.as_str() {
        "login.localhost" => routers.login.clone(),
        "management.localhost" => {
            arm::normalize_request(&mut request);
            routers.management.clone()
        }
        "graph.localhost" => routers.graph.clone(),
        _ => match host.strip_suffix(".vault.localhost") {
            Some(vault) if is_vault_label(vault) => {
                if routers.shared.azure_throttling.load(Ordering::Relaxed) {
                    let class = throttle::TransactionClass::of(
                        request.method().as_str(),
                        request.uri().path(),
                    );
                    if let Err(wait) = routers.shared.vault_throttle.admit(vault, class) {
                        return responses::throttled(throttle::retry_after_seconds(wait));
                    }
                }
                request.extensions_mut().insert(VaultHost {
                    name: vault.to_owned(),
                    authority: authority.clone(),
                });
                routers.vault.clone()
            }
            _ => {
                return responses::keyvault_error(
                    axum::http::StatusCode::NOT_FOUND,
                    "HostNotFound",
                    &format!(
                        "the emulator serves login.localhost, management.localhost, graph.localhost and {{vault}}.vault.localhost, not {host}"
                    ),
                    None,
                );
            }
        },
    };
    let shape = if host == "login.localhost" {
        responses::ErrorShape::Entra
    } else {
        responses::ErrorShape::Service
    };
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    responses::azure_shaped(shape, response.into_response()).await
}

/// Draws the fault for one request (the login host is exempt); a dropped request is logged here, since it
/// never reaches the router.
fn draw_fault(shared: &Shared, request: &Request) -> faults::Decision {
    let authority = request_authority(request);
    if authority.starts_with("login.localhost") {
        return faults::Decision::Serve;
    }
    let decision = shared
        .faults
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .decide(request.method() != axum::http::Method::GET);
    if decision == faults::Decision::Drop {
        shared.request_log.record(faults::LoggedRequest {
            method: request.method().to_string(),
            host: authority,
            path: request.uri().path().to_owned(),
            status: None,
            principal: faults::token_object_id(
                request.headers().get(axum::http::header::AUTHORIZATION),
            ),
        });
    }
    decision
}

async fn serve(
    listener: TcpListener,
    tls_config: Arc<rustls::ServerConfig>,
    app: Router,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
    connection_timeout: Duration,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls_config);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let Ok((tcp, peer)) = accepted else {
            // Out of file descriptors and the like: back off a little rather than spin.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        // Without this, Nagle + delayed ACK add ~40 ms to small responses and latency figures lie.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone().layer(axum::Extension(ClientAddress(peer.ip())));
        let shared = shared.clone();
        // Per request: draw the fault; a dropped one fails the service call, and hyper closes the
        // connection without answering, as a reset connection looks to the client.
        let service = tower::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let arrived = Arrived(std::time::Instant::now());
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(arrived);
            let decision = draw_fault(&shared, &request);
            request.extensions_mut().insert(decision);
            let app = app.clone();
            async move {
                if decision == faults::Decision::Drop {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "connection dropped by fault injection",
                    ));
                }
                let response = match app.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                if decision == faults::Decision::LoseAnswer {
                    // The write was carried out; its answer never leaves.
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "answer dropped by fault injection",
                    ));
                }
                Ok(response)
            }
        });
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            // A client that connects and says nothing (or never finishes its handshake) is let go.
            let Ok(Ok(stream)) =
                tokio::time::timeout(connection_timeout, acceptor.accept(tcp)).await
            else {
                return;
            };
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(connection_timeout);
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::select! {
                _ = connection => {}
                _ = stopped.changed() => {}
            }
        });
    }
}
