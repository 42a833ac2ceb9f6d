//! Emulated Key Vault data plane on `{vault}.vault.localhost`: the 401 challenge, token and api-version
//! checks, the firewall and per-principal authorization, and the secrets, keys and certificates APIs
//! (`objects.rs` for what the three share, `writes.rs` for what differs), with Key Vault's error bodies,
//! integer timestamps, `maxresults` ≤ 25 and absolute `nextLink`s.

mod objects;
mod render;
mod writes;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::authz::{self, Caller, Operation};
use super::responses::{bearer_token, keyvault_error, keyvault_json};
use super::state::{CloudState, ObjectKind, VaultState};
use super::token::TokenError;
use super::{ClientAddress, Shared, VaultHost, now_unix};

/// Every data-plane api-version of the Key Vault specs; clients in the wild use all of them.
pub const SUPPORTED_API_VERSIONS: &[&str] = &[
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6-preview.2",
    "7.6",
    "2025-06-01-preview",
    "2025-07-01",
    "2026-01-01-preview",
    "2026-03-01-preview",
    "2026-04-01",
    "2026-05-01-preview",
];

const PAGE_LIMIT: usize = 25;

/// What every handler needs: the shared state, the vault host, the verified caller and the query.
pub(crate) struct Ctx {
    shared: Arc<Shared>,
    host: VaultHost,
    caller: Caller,
    query: HashMap<String, String>,
}

impl FromRequestParts<Arc<Shared>> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let internal = || {
            keyvault_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "request context missing",
                None,
            )
        };
        let host = parts
            .extensions
            .get::<VaultHost>()
            .cloned()
            .ok_or_else(internal)?;
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(internal)?;
        let query = parts
            .uri
            .query()
            .map(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            shared: shared.clone(),
            host,
            caller,
            query,
        })
    }
}

impl Ctx {
    /// The base URL of this vault as the client addressed it (`https://name.vault.localhost:PORT`).
    fn base(&self) -> String {
        format!("https://{}", self.host.authority)
    }

    /// Runs `f` on this request's vault, mutably, after authorizing `operation` (the common case of
    /// [`Self::with_vault_mut`]: a write that touches its own vault only).
    fn with_this_vault_mut<T>(
        &self,
        kind: ObjectKind,
        operation: Operation,
        name: Option<&str>,
        f: impl FnOnce(&mut VaultState) -> Result<T, Response>,
    ) -> Result<T, Response> {
        self.with_vault_mut(kind, operation, name, |cloud, vault_name| {
            let vault = cloud
                .vaults
                .get_mut(vault_name)
                .ok_or_else(|| vault_not_found(vault_name))?;
            f(vault)
        })
    }

    /// How long a certificate created now stays `inProgress`.
    fn certificate_issuance(&self) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.shared
                .certificate_issuance_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Runs `f` on the vault after authorizing `operation`, under the read lock.
    fn with_vault<T>(
        &self,
        kind: ObjectKind,
        operation: Operation,
        name: Option<&str>,
        f: impl FnOnce(&CloudState, &VaultState) -> Result<T, Response>,
    ) -> Result<T, Response> {
        let cloud = self.shared.read();
        let vault = cloud
            .vaults
            .get(&self.host.name)
            .ok_or_else(|| vault_not_found(&self.host.name))?;
        authz::authorize(&cloud, vault, &self.caller, kind, operation, name)?;
        f(&cloud, vault)
    }

    /// Runs `f` on the vault after authorizing `operation`, under the write lock.
    fn with_vault_mut<T>(
        &self,
        kind: ObjectKind,
        operation: Operation,
        name: Option<&str>,
        f: impl FnOnce(&mut CloudState, &str) -> Result<T, Response>,
    ) -> Result<T, Response> {
        let mut cloud = self.shared.write();
        {
            let vault = cloud
                .vaults
                .get(&self.host.name)
                .ok_or_else(|| vault_not_found(&self.host.name))?;
            authz::authorize(&cloud, vault, &self.caller, kind, operation, name)?;
        }
        f(&mut cloud, &self.host.name)
    }

    fn page_size(&self) -> Result<usize, Response> {
        match self.query.get("maxresults") {
            None => Ok(PAGE_LIMIT),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=PAGE_LIMIT).contains(&n) => Ok(n),
                _ => Err(bad_parameter(&format!(
                    "invalid maxresults value '{text}': it must be between 1 and {PAGE_LIMIT}."
                ))),
            },
        }
    }

    /// The key after which a page starts, from the opaque `$skiptoken`.
    fn skip_after(&self) -> Result<Option<String>, Response> {
        match self.query.get("$skiptoken") {
            None => Ok(None),
            Some(token) => URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .map(Some)
                .ok_or_else(|| bad_parameter("The $skiptoken is invalid.")),
        }
    }

    /// An absolute next link for `path` that resumes after `last`.
    fn next_link(&self, path: &str, last: &str, size: usize) -> String {
        let api_version = self
            .query
            .get("api-version")
            .map(String::as_str)
            .unwrap_or("2025-07-01");
        format!(
            "{}{path}?api-version={api_version}&$skiptoken={}&maxresults={size}",
            self.base(),
            URL_SAFE_NO_PAD.encode(last)
        )
    }

    /// One page of the items `items_after` gives after the page's `$skiptoken` key (in list order, keyed),
    /// rendered by `render`.
    fn page<'a, T: 'a, I: Iterator<Item = (&'a String, T)>>(
        &self,
        path: &str,
        items_after: impl FnOnce(Option<&str>) -> I,
        mut render: impl FnMut(T) -> Option<Value>,
    ) -> Result<Response, Response> {
        let size = self.page_size()?;
        let after = self.skip_after()?;
        let mut value = Vec::with_capacity(size);
        let mut last: Option<&String> = None;
        let mut more = false;
        for (key, item) in items_after(after.as_deref()) {
            if value.len() == size {
                more = true;
                break;
            }
            if let Some(rendered) = render(item) {
                value.push(rendered);
            }
            last = Some(key);
        }
        let next = match (more, last) {
            (true, Some(last)) => Value::String(self.next_link(path, last, size)),
            _ => Value::Null,
        };
        // Moved in, not through `json!`, which would serialize the whole page once more.
        let mut body = serde_json::Map::with_capacity(2);
        body.insert("value".into(), Value::Array(value));
        body.insert("nextLink".into(), next);
        Ok(keyvault_json(StatusCode::OK, Value::Object(body)))
    }
}

/// The entries of `map` after the key `after` (all when `None`), without walking those before it: a page
/// deep into a 5,000-secret vault costs what the first does.
pub(crate) fn entries_after<'a, V>(
    map: &'a std::collections::BTreeMap<String, V>,
    after: Option<&str>,
) -> impl Iterator<Item = (&'a String, &'a V)> + use<'a, V> {
    use std::ops::Bound;
    let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
    map.range::<str, _>((lower, Bound::Unbounded))
}

/// Turns a handler's `Result` into its response.
fn respond(result: Result<Response, Response>) -> Response {
    result.unwrap_or_else(|error| error)
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for kind in ObjectKind::ALL {
        router = objects::routes(router, kind);
    }
    writes::routes(router)
        .fallback(|| async {
            keyvault_error(
                StatusCode::NOT_FOUND,
                "BadParameter",
                "The request URI is not served by the emulator's Key Vault.",
                None,
            )
        })
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate))
        .with_state(shared)
}

fn challenge_response(shared: &Shared, tenant_id: &str, message: &str) -> Response {
    let mut response = keyvault_error(StatusCode::UNAUTHORIZED, "Unauthorized", message, None);
    let challenge = format!(
        "Bearer authorization=\"{}/{tenant_id}\", resource=\"{}\"",
        shared.login_base(),
        shared.vault_audience()
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub(crate) fn vault_not_found(name: &str) -> Response {
    keyvault_error(
        StatusCode::NOT_FOUND,
        "VaultNotFound",
        &format!("The vault '{name}' does not exist in the emulator."),
        None,
    )
}

pub(crate) fn bad_parameter(message: &str) -> Response {
    keyvault_error(StatusCode::BAD_REQUEST, "BadParameter", message, None)
}

/// The vault must exist; then a valid token for the vault audience from the vault's tenant (else the 401
/// challenge); then a supported api-version; then the vault firewall. The verified caller goes into the
/// request's extensions for the handlers' authorization.
async fn authenticate(
    State(shared): State<Arc<Shared>>,
    Extension(host): Extension<VaultHost>,
    mut request: Request,
    next: Next,
) -> Response {
    let tenant_id = {
        let cloud = shared.read();
        match cloud.vaults.get(&host.name) {
            Some(vault) => vault.tenant_id.clone(),
            None => return vault_not_found(&host.name),
        }
    };
    let Some(token) = bearer_token(request.headers()) else {
        return challenge_response(
            &shared,
            &tenant_id,
            "AKV10000: Request is missing a Bearer or PoP token.",
        );
    };
    let claims = match verified_claims(&shared, token, &tenant_id) {
        Ok(claims) => claims,
        Err(challenge) => return challenge,
    };
    if let Err(refused) = check_api_version(request.uri().query()) {
        return refused;
    }
    let caller = Caller {
        object_id: claims.oid,
        tenant_id: claims.tid,
        app_id: claims.appid,
    };
    let client = request
        .extensions()
        .get::<ClientAddress>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |address| address.0);
    {
        let cloud = shared.read();
        if let Some(vault) = cloud.vaults.get(&host.name)
            && let Err(refused) = authz::check_firewall(vault, &caller, client)
        {
            return refused;
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The token's claims when it is valid for the vault audience and issued by the vault's tenant; else the
/// 401 challenge with Key Vault's words for what is wrong.
fn verified_claims(
    shared: &Shared,
    token: &str,
    tenant_id: &str,
) -> Result<crate::emulator::Claims, Response> {
    let audience = shared.vault_audience();
    let audience_without_port = "https://vault.localhost";
    let refuse = |message: &str| Err(challenge_response(shared, tenant_id, message));
    match shared
        .signer
        .verify(token, &[&audience, audience_without_port], now_unix())
    {
        Ok(claims)
            if shared.revoked(&claims) == Some(crate::emulator::Revoked::WithClaimsChallenge) =>
        {
            let mut response = keyvault_error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "AKV10000: The token was revoked by Continuous Access Evaluation.",
                None,
            );
            if let Ok(value) = HeaderValue::from_str(&shared.claims_challenge(tenant_id)) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            Err(response)
        }
        Ok(claims) if shared.revoked(&claims).is_some() => {
            refuse("AKV10022: Invalid token: the token has been revoked.")
        }
        Ok(claims) if claims.tid.eq_ignore_ascii_case(tenant_id) => Ok(claims),
        Ok(claims) => refuse(&format!(
            "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{tenant_id}/, found https://sts.windows.net/{}/.",
            claims.tid
        )),
        Err(TokenError::Expired) => refuse("AKV10022: Invalid token: the token is expired."),
        Err(TokenError::WrongAudience(aud)) => refuse(&format!(
            "AKV10022: Invalid audience. Expected {audience}, found: {aud}."
        )),
        Err(error) => refuse(&format!("AKV10000: {error}.")),
    }
}

/// A request must name a supported `api-version`.
fn check_api_version(query: Option<&str>) -> Result<(), Response> {
    let api_version = query.and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "api-version")
            .map(|(_, value)| value.into_owned())
    });
    match api_version.as_deref() {
        None | Some("") => Err(bad_parameter(
            "The 'api-version' query parameter is missing.",
        )),
        Some(version) if !SUPPORTED_API_VERSIONS.contains(&version) => {
            Err(bad_parameter(&format!(
                "The specified version ({version}) is not recognized. Consider using the latest supported version (2026-04-01)."
            )))
        }
        Some(_) => Ok(()),
    }
}

/// `^[0-9a-zA-Z-]{1,127}$`: Key Vault's object name rule.
pub(crate) fn check_name(kind: ObjectKind, name: &str) -> Result<(), Response> {
    if crate::azure::identifiers::check_object_name(name).is_ok() {
        Ok(())
    } else {
        Err(bad_parameter(&format!(
            "The {} name '{name}' is invalid: a name is 1 to 127 characters, each 0-9, a-z, A-Z or '-'.",
            kind.lower()
        )))
    }
}

/// Key Vault's 404 for a missing object.
pub(crate) fn object_not_found(kind: ObjectKind, name: &str) -> Response {
    keyvault_error(
        StatusCode::NOT_FOUND,
        &format!("{}NotFound", kind.noun()),
        &format!(
            "A {} with (name/id) {name} was not found in this key vault. If you recently deleted this {} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
            kind.lower(),
            kind.lower()
        ),
        None,
    )
}

/// Key Vault's 404 for a missing deleted object.
pub(crate) fn deleted_not_found(kind: ObjectKind, name: &str) -> Response {
    keyvault_error(
        StatusCode::NOT_FOUND,
        &format!("{}NotFound", kind.noun()),
        &format!("Deleted {} not found: {name}", kind.noun()),
        None,
    )
}

/// 409 when a name is taken by a soft-deleted object.
pub(crate) fn deleted_but_recoverable(kind: ObjectKind, name: &str) -> Response {
    keyvault_error(
        StatusCode::CONFLICT,
        "Conflict",
        &format!(
            "{} {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the {} can only be recovered or purged.",
            kind.noun(),
            kind.lower()
        ),
        Some("ObjectIsDeletedButRecoverable"),
    )
}

/// Tags: at most 15, keys ≤ 512 and values ≤ 256 characters (Key Vault's limits).
pub(crate) fn parse_tags(body: &Value) -> Result<Option<BTreeMap<String, String>>, Response> {
    let Some(tags) = body.get("tags") else {
        return Ok(None);
    };
    if tags.is_null() {
        return Ok(Some(BTreeMap::new()));
    }
    let Some(map) = tags.as_object() else {
        return Err(bad_parameter("'tags' must be an object of strings."));
    };
    if map.len() > 15 {
        return Err(bad_parameter("At most 15 tags are allowed."));
    }
    let mut tags = BTreeMap::new();
    for (key, value) in map {
        let Some(value) = value.as_str() else {
            return Err(bad_parameter(&format!("The tag '{key}' must be a string.")));
        };
        if key.len() > 512 || value.len() > 256 {
            return Err(bad_parameter(&format!("The tag '{key}' is too long.")));
        }
        tags.insert(key.clone(), value.to_owned());
    }
    Ok(Some(tags))
}

/// The JSON body of a request, or Key Vault's 400.
pub(crate) fn parse_body(bytes: &[u8]) -> Result<Value, Response> {
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes)
        .map_err(|error| bad_parameter(&format!("The request body is not valid JSON: {error}")))
}
