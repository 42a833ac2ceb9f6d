//! The fuzz targets' bodies: each takes arbitrary bytes, feeds them to one parser of outside input and
//! checks an invariant, panicking when it breaks. `fuzz/` (cargo fuzz, nightly) calls these, and the stable
//! `tests/fuzz_corpora.rs` replays every committed corpus and crash file through the very same functions,
//! so a fixed crash stays fixed without a nightly build in CI.

use std::sync::OnceLock;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::auth::claims::SignedInIdentity;
use crate::azure::challenge::{parse_challenge, verify_challenge_domain};
use crate::azure::error::{Service, service_error};
use crate::azure::identifiers::{ObjectId, VaultUri};
use crate::azure::models::{ObjectItem, SecretBundle};
use crate::azure::object_details::{CertificateDetails, KeyDetails, redacted_json};
use crate::azure::pipeline::{Page, Received};

/// One target's body: takes the fuzzer's bytes, panics when its invariant breaks.
pub type FuzzCheck = fn(&[u8]);

/// Every target by the name its corpus directory has (`fuzz/corpus/<name>`).
pub const TARGETS: &[(&str, FuzzCheck)] = &[
    ("challenge", challenge),
    ("next_links", next_links),
    ("identifiers", identifiers),
    ("connection_string", connection_string),
    ("token_responses", token_responses),
    ("jwt_claims", jwt_claims),
    ("service_bodies", service_bodies),
    ("object_details", object_details),
    ("emulator_router", emulator_router),
];

/// The input's first line and the rest.
fn split_line(data: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(data);
    match text.split_once('\n') {
        Some((first, rest)) => (first.to_owned(), rest.to_owned()),
        None => (text.into_owned(), String::new()),
    }
}

/// Line one: the URL a request went to; the rest: its `WWW-Authenticate`. A challenge that passes the
/// domain check sends the token only over HTTPS to a host under the scope's host, on a dot boundary.
pub fn challenge(data: &[u8]) {
    let (request_url, header) = split_line(data);
    let Some(challenge) = parse_challenge(&header) else {
        return;
    };
    assert!(!challenge.scope.is_empty(), "an empty scope was accepted");
    let Ok(url) = Url::parse(&request_url) else {
        return;
    };
    if verify_challenge_domain(&url, &challenge.scope).is_ok() {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let scope_host = Url::parse(&challenge.scope)
            .ok()
            .and_then(|scope| scope.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        assert_eq!(url.scheme(), "https");
        assert!(!scope_host.is_empty(), "accepted a scope without a host");
        assert!(
            host.ends_with(&format!(".{scope_host}")) && !host.ends_with('.'),
            "{host} accepted for {scope_host}"
        );
    }
}

fn api_versions(url: &Url) -> Vec<String> {
    url.query_pairs()
        .filter(|(key, _)| key == "api-version")
        .map(|(_, value)| value.into_owned())
        .collect()
}

/// Line one: a vault URI; the rest: a next link. An accepted Key Vault link keeps the vault's authority
/// and carries exactly our api-version; an accepted ARM link keeps ARM's host and one api-version.
pub fn next_links(data: &[u8]) {
    let (vault_text, link) = split_line(data);
    if let Ok(vault) = VaultUri::parse(&vault_text)
        && let Ok(url) = crate::azure::keyvault::checked_next_link(&vault, &link)
    {
        let vault_url = Url::parse(vault.as_str()).ok();
        let authority = |url: &Url| {
            (
                url.host_str().map(str::to_ascii_lowercase),
                url.port_or_known_default(),
            )
        };
        assert_eq!(url.scheme(), "https");
        assert_eq!(Some(authority(&url)), vault_url.as_ref().map(authority));
        assert_eq!(
            api_versions(&url),
            [crate::azure::keyvault::KEYVAULT_API_VERSION]
        );
    }
    for endpoint in [
        "https://management.azure.com/",
        "https://management.localhost:8443/",
    ] {
        let Ok(endpoint) = Url::parse(endpoint) else {
            continue;
        };
        if let Ok(url) = crate::azure::arm::checked_arm_next_link(&endpoint, &link, "2024-11-01") {
            assert_eq!(url.scheme(), "https");
            assert_eq!(url.host_str(), endpoint.host_str());
            assert_eq!(
                url.port_or_known_default(),
                endpoint.port_or_known_default()
            );
            assert_eq!(api_versions(&url), ["2024-11-01"]);
        }
    }
}

/// A vault URI or object id that parses prints back to itself: parsing what it prints gives it again.
pub fn identifiers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(vault) = VaultUri::parse(&text) {
        let again = VaultUri::parse(vault.as_str());
        assert_eq!(
            again.as_ref().ok(),
            Some(&vault),
            "{vault:?} does not round-trip"
        );
        let _ = vault.name();
    }
    if let Ok(id) = ObjectId::parse(&text) {
        let again = ObjectId::parse(&id.versioned());
        assert_eq!(again.as_ref().ok(), Some(&id), "{id:?} does not round-trip");
        let versionless = ObjectId::parse(&id.versionless());
        assert!(
            versionless.is_ok(),
            "the versionless form of {id:?} does not parse"
        );
        let _ = id.app_service_reference(true);
    }
}

/// Before the first NUL: the start of a connection string; after it: an `AppKey` (which may hold `;` and
/// `=`). The key is written twice, in two alphabets that spell no keyword; if the errors differ, the key's
/// text reached the message.
pub fn connection_string(data: &[u8]) {
    let (prefix, key) = match data.iter().position(|byte| *byte == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let prefix = String::from_utf8_lossy(prefix);
    let spell = |offset: u8| -> String {
        key.iter()
            .map(|byte| match byte {
                b';' | b'=' | b' ' => char::from(*byte),
                other => char::from(b'0' + offset + other % 5),
            })
            .collect()
    };
    let parse = |key: String| {
        let text = SecretString::from(format!("{prefix};AppKey={key}"));
        crate::auth::environment::parse_connection_string(&text).map_err(|error| error.to_string())
    };
    let (first, second) = (parse(spell(0)), parse(spell(5)));
    match (&first, &second) {
        (Err(one), Err(other)) => assert_eq!(one, other, "the AppKey's text reached the error"),
        (Ok(_), Ok(_)) => {}
        _ => panic!("the AppKey's text changed how the string parsed"),
    }
}

/// Managed-identity and Entra token answers, with any `expires_in`/`expires_on`: no panic, and what is
/// accepted expires at a time the token cache can subtract its refresh margin from.
pub fn token_responses(data: &[u8]) {
    let now = time::OffsetDateTime::now_utc();
    if let Ok(token) = crate::auth::managed_identity::parse_token_answer(data, now) {
        let _ = token.expires_on.checked_sub(time::Duration::minutes(5));
    }
    if let Ok(granted) = crate::auth::device_code::parse_token_response(data, now) {
        assert!(
            granted.access_token.expires_on <= now + time::Duration::days(1),
            "Entra's expires_in is not clamped to a day"
        );
    }
    assert_no_value_quoted(data, |body| {
        crate::auth::managed_identity::parse_token_answer(body, now).err()
    });
}

/// An access token's claims, read for display, never panic, whatever the payload.
pub fn jwt_claims(data: &[u8]) {
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data);
    for token in [
        format!("eyJhbGciOiJub25lIn0.{payload}.sig"),
        String::from_utf8_lossy(data).into_owned(),
    ] {
        if let Some(identity) = SignedInIdentity::from_access_token(&token) {
            assert!(!identity.label().is_empty());
        }
    }
}

/// `json` with every string under a `value` key spelled differently (each ASCII letter and digit moved
/// one on, the length kept).
fn respelled_values(json: &serde_json::Value) -> serde_json::Value {
    fn respell(text: &str) -> String {
        text.chars()
            .map(|c| match c {
                'z' => 'a',
                'Z' => 'A',
                '9' => '0',
                c if c.is_ascii_alphanumeric() => char::from(c as u8 + 1),
                c => c,
            })
            .collect()
    }
    match json {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let inner = match inner {
                        serde_json::Value::String(text) if key == "value" => {
                            serde_json::Value::String(respell(text))
                        }
                        other => respelled_values(other),
                    };
                    (key.clone(), inner)
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(respelled_values).collect())
        }
        other => other.clone(),
    }
}

/// No message about `body` depends on the text of a `value` it carries: the body and the same body with
/// every value respelled (both written out the same way) get the same message. A message that quoted a
/// value would differ; one that merely shares words with it (a value " body") would not.
fn assert_no_value_quoted(body: &[u8], message_of: impl Fn(&[u8]) -> Option<String>) {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let (Ok(original), Ok(respelled)) = (
        serde_json::to_vec(&json),
        serde_json::to_vec(&respelled_values(&json)),
    ) else {
        return;
    };
    assert_eq!(
        message_of(&original),
        message_of(&respelled),
        "a value reached the message"
    );
}

/// A body as each service might send it, with any status: error mapping and page and bundle decoding never
/// panic, and no error quotes a `value` the body carries.
pub fn service_bodies(data: &[u8]) {
    let status = data
        .first()
        .map_or(200, |byte| 200 + u16::from(*byte) % 400);
    let body = data.get(1..).unwrap_or_default();
    let received = |body: &[u8]| Received {
        status: reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::OK),
        headers: reqwest::header::HeaderMap::new(),
        body: bytes::Bytes::copy_from_slice(body),
    };
    for service in [Service::KeyVault, Service::ResourceManager, Service::Graph] {
        assert_no_value_quoted(body, |body| {
            Some(service_error(service, status, body).to_string())
        });
    }
    assert_no_value_quoted(body, |body| {
        received(body)
            .json::<Page<ObjectItem>>(Service::KeyVault, "kv.vault.azure.net")
            .err()
            .map(|error| error.to_string())
    });
    assert_no_value_quoted(body, |body| {
        received(body)
            .json::<SecretBundle>(Service::KeyVault, "kv.vault.azure.net")
            .err()
            .map(|error| error.to_string())
    });
    if let Ok(bundle) = received(body).json::<SecretBundle>(Service::KeyVault, "kv.vault.azure.net")
    {
        let shown = format!("{bundle:?}");
        let value = bundle.value.expose_secret();
        assert!(
            value.chars().count() < 4 || !shown.contains(value),
            "Debug showed the value"
        );
    }
}

/// A key's JWK and a certificate's DER, from any bytes: details never panic, and the raw JSON shown keeps
/// no `value`.
pub fn object_details(data: &[u8]) {
    let cer = base64::engine::general_purpose::STANDARD.encode(data);
    let _ = CertificateDetails::from_bundle(&serde_json::json!({ "cer": cer }));
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = KeyDetails::from_bundle(&json).summary();
        let _ = CertificateDetails::from_bundle(&json);
        let shown = redacted_json(&json);
        // Redacted, the body and its respelled twin print the same.
        assert_eq!(
            shown,
            redacted_json(&respelled_values(&json)),
            "a value survived redaction"
        );
    }
}

struct RouterHarness {
    runtime: tokio::runtime::Runtime,
    emulator: crate::emulator::Emulator,
    tokens: Vec<String>,
}

fn router_harness() -> Option<&'static RouterHarness> {
    static HARNESS: OnceLock<Option<RouterHarness>> = OnceLock::new();
    HARNESS
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .ok()?;
            let config = crate::emulator::EmulatorConfig::demo().ok()?;
            let emulator = runtime
                .block_on(crate::emulator::Emulator::start(config))
                .ok()?;
            let user = emulator.demo_user_id()?;
            let port = emulator.port();
            let tokens = ["management", "vault", "graph"]
                .iter()
                .filter_map(|host| {
                    emulator.token_for(&user, &format!("https://{host}.localhost:{port}"))
                })
                .collect();
            Some(RouterHarness {
                runtime,
                emulator,
                tokens,
            })
        })
        .as_ref()
}

/// Byte one: the method; byte two: which token to send (none, ARM, Key Vault, Graph) and the content type;
/// then the Host line, the path-and-query line, and the body. Whatever arrives, the emulator answers without
/// panicking, and an error answer is Azure-shaped JSON with an `error` member.
pub fn emulator_router(data: &[u8]) {
    use tower::ServiceExt as _;
    let Some(harness) = router_harness() else {
        panic!("the emulator could not start, so nothing was checked");
    };
    let (Some(&method_byte), Some(&flags)) = (data.first(), data.get(1)) else {
        return;
    };
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    let method = methods[usize::from(method_byte) % methods.len()];
    let rest = String::from_utf8_lossy(&data[2..]).into_owned();
    let mut lines = rest.splitn(3, '\n');
    let host = lines.next().unwrap_or_default().trim_end_matches('\r');
    let path = lines.next().unwrap_or_default().trim_end_matches('\r');
    let body = lines.next().unwrap_or_default().to_owned();
    let Ok(uri) = path.parse::<axum::http::Uri>() else {
        return;
    };
    let mut request = axum::http::Request::builder().method(method).uri(uri);
    if let Ok(host) = axum::http::HeaderValue::from_str(host) {
        request = request.header(axum::http::header::HOST, host);
    }
    if let Some(token) = harness.tokens.get(usize::from(flags % 4).wrapping_sub(1)) {
        request = request.header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let content_type = match (flags >> 2) % 3 {
        0 => "application/json",
        1 => "application/x-www-form-urlencoded",
        _ => "text/plain",
    };
    request = request.header(axum::http::header::CONTENT_TYPE, content_type);
    let Ok(request) = request.body(axum::body::Body::from(body)) else {
        return;
    };
    let service = harness.emulator.service();
    let answer = harness.runtime.block_on(async move {
        let response = service.oneshot(request).await.ok()?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .ok()?;
        Some((status, bytes))
    });
    let Some((status, bytes)) = answer else {
        panic!("the emulator's answer could not be read");
    };
    if (status.is_client_error() || status.is_server_error()) && method != "HEAD" {
        let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        assert!(
            json.as_ref()
                .is_some_and(|json| json.get("error").is_some()),
            "{method} {host} {path}: HTTP {status} is not Azure-shaped: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        );
    }
}
