//! The writes that differ per kind: set a secret (value ≤ 25 KB, name rules), create and import keys, create
//! certificates (self-signed with rcgen, RSA 2048 by default; `inProgress` with a `Location` to poll and a
//! PKCS#10 `csr`, completed by the pending GET once the issuance time has passed)
//! and read or update a certificate's policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::objects::apply_attributes;
use super::{
    Ctx, bad_parameter, check_name, deleted_but_recoverable, object_not_found, parse_body,
    parse_tags, render, respond,
};
use crate::emulator::Shared;
use crate::emulator::authz::Operation;
use crate::emulator::material::{self, KeyMaterial};
use crate::emulator::now_unix;
use crate::emulator::responses::{keyvault_error, keyvault_json};
use crate::emulator::state::{self, ObjectKind, ObjectState, Payload, VaultState, VersionState};

pub use crate::azure::keyvault_writes::SECRET_VALUE_LIMIT as SECRET_VALUE_LIMIT_BYTES;

pub(super) fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router
        .route(
            "/secrets/{name}",
            put(
                |ctx: Ctx, Path(name): Path<String>, body: Bytes| async move {
                    respond(set_secret(&ctx, &name, &body))
                },
            ),
        )
        .route(
            "/keys/{name}/create",
            post(
                |ctx: Ctx, Path(name): Path<String>, body: Bytes| async move {
                    respond(create_key(&ctx, &name, &body))
                },
            ),
        )
        .route(
            "/keys/{name}/rotate",
            post(|ctx: Ctx, Path(name): Path<String>| async move {
                respond(rotate_key(&ctx, &name))
            }),
        )
        .route(
            "/keys/{name}",
            put(
                |ctx: Ctx, Path(name): Path<String>, body: Bytes| async move {
                    respond(import_key(&ctx, &name, &body))
                },
            ),
        )
        .route(
            "/certificates/{name}/create",
            post(
                |ctx: Ctx, Path(name): Path<String>, body: Bytes| async move {
                    respond(create_certificate(&ctx, &name, &body))
                },
            ),
        )
        .route(
            "/certificates/{name}/import",
            post(
                |ctx: Ctx, Path(name): Path<String>, body: Bytes| async move {
                    respond(import_certificate(&ctx, &name, &body))
                },
            ),
        )
        .route(
            "/certificates/{name}/pending",
            get(|ctx: Ctx, Path(name): Path<String>| async move {
                respond(pending_operation(&ctx, &name))
            }),
        )
        .route(
            "/certificates/{name}/policy",
            get(|ctx: Ctx, Path(name): Path<String>| async move {
                respond(get_policy(&ctx, &name))
            })
            .patch(
                |ctx: Ctx, Path(name): Path<String>, body: Bytes| async move {
                    respond(update_policy(&ctx, &name, &body))
                },
            ),
        )
}

/// Checks that `name` may take a new version of `kind`: a valid name, not soft-deleted, not managed.
fn check_new_version(vault: &VaultState, kind: ObjectKind, name: &str) -> Result<(), Response> {
    check_name(kind, name)?;
    let key = name.to_ascii_lowercase();
    if vault.deleted(kind).contains_key(&key) {
        return Err(deleted_but_recoverable(kind, name));
    }
    if vault.objects(kind).get(&key).is_some_and(|o| o.managed) {
        return Err(keyvault_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "{} {name} is managed by the certificate of the same name and cannot be changed directly.",
                kind.noun()
            ),
            None,
        ));
    }
    Ok(())
}

/// Appends `version` to `name` of `kind` (creating the object) and renders the new bundle.
fn add_version(
    vault: &mut VaultState,
    base: &str,
    kind: ObjectKind,
    name: &str,
    version: VersionState,
    with_value: bool,
) -> Response {
    let object = vault
        .objects_mut(kind)
        .entry(name.to_ascii_lowercase())
        .or_insert_with(|| ObjectState {
            name: name.to_owned(),
            versions: Vec::new(),
            managed: false,
            policy: None,
        });
    object.versions.push(version);
    let object = object.clone();
    let Some(current) = object.current() else {
        return object_not_found(kind, name);
    };
    keyvault_json(
        StatusCode::OK,
        render::bundle(base, kind, &object, current, vault, with_value),
    )
}

fn new_version(body: &Value, payload: Payload) -> Result<VersionState, Response> {
    let now = now_unix();
    let mut version = VersionState {
        version: state::new_version_id(),
        enabled: true,
        not_before: None,
        expires: None,
        created: now,
        updated: now,
        tags: parse_tags(body)?.unwrap_or_default(),
        content_type: None,
        payload,
    };
    apply_attributes(&mut version, body)?;
    Ok(version)
}

fn set_secret(ctx: &Ctx, name: &str, body: &[u8]) -> Result<Response, Response> {
    let body = parse_body(body)?;
    let value = body
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_parameter("The secret value ('value') is required."))?
        .to_owned();
    if value.len() > SECRET_VALUE_LIMIT_BYTES {
        return Err(bad_parameter(&format!(
            "The secret value is {} bytes; Key Vault accepts at most {SECRET_VALUE_LIMIT_BYTES} bytes (25 KB).",
            value.len()
        )));
    }
    let mut version = new_version(&body, Payload::Secret { value })?;
    version.content_type = body
        .get("contentType")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let base = ctx.base();
    ctx.with_this_vault_mut(ObjectKind::Secret, Operation::Create, Some(name), |vault| {
        check_new_version(vault, ObjectKind::Secret, name)?;
        Ok(add_version(
            vault,
            &base,
            ObjectKind::Secret,
            name,
            version,
            true,
        ))
    })
}

fn string_list(body: &Value, field: &str) -> Vec<String> {
    body.get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn create_key(ctx: &Ctx, name: &str, body: &[u8]) -> Result<Response, Response> {
    let body = parse_body(body)?;
    let kty = body
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_parameter("The key type ('kty') is required."))?;
    let key_size = body
        .get("key_size")
        .and_then(Value::as_u64)
        .and_then(|size| u32::try_from(size).ok());
    let curve = body.get("crv").and_then(Value::as_str);
    let mut key_ops = string_list(&body, "key_ops");
    if key_ops.is_empty() {
        key_ops = if kty.starts_with("EC") {
            vec!["sign".into(), "verify".into()]
        } else {
            [
                "encrypt",
                "decrypt",
                "sign",
                "verify",
                "wrapKey",
                "unwrapKey",
            ]
            .map(str::to_owned)
            .to_vec()
        };
    }
    let material = KeyMaterial::generate(
        kty,
        key_size,
        curve,
        key_ops,
        &uuid::Uuid::new_v4().to_string(),
    )
    .map_err(|message| bad_parameter(&message))?;
    let version = new_version(&body, Payload::Key(material))?;
    let base = ctx.base();
    ctx.with_this_vault_mut(ObjectKind::Key, Operation::Create, Some(name), |vault| {
        check_new_version(vault, ObjectKind::Key, name)?;
        Ok(add_version(
            vault,
            &base,
            ObjectKind::Key,
            name,
            version,
            false,
        ))
    })
}

/// `POST /keys/{name}/rotate`: a new version of the same type, size or curve and operations, with the
/// current version's tags (Key Vault's rotation keeps the key's shape; the `rotate` permission).
fn rotate_key(ctx: &Ctx, name: &str) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_this_vault_mut(ObjectKind::Key, Operation::Rotate, Some(name), |vault| {
        check_new_version(vault, ObjectKind::Key, name)?;
        let current = vault
            .objects(ObjectKind::Key)
            .get(&name.to_ascii_lowercase())
            .and_then(|object| object.current())
            .ok_or_else(|| object_not_found(ObjectKind::Key, name))?;
        let Payload::Key(material) = &current.payload else {
            return Err(object_not_found(ObjectKind::Key, name));
        };
        let key_size = material
            .n
            .as_ref()
            .and_then(|n| u32::try_from(n.len() * 8).ok());
        let fresh = KeyMaterial::generate(
            &material.kty,
            key_size,
            material.crv.as_deref(),
            material.key_ops.clone(),
            &uuid::Uuid::new_v4().to_string(),
        )
        .map_err(|message| bad_parameter(&message))?;
        let now = now_unix();
        let version = VersionState {
            version: state::new_version_id(),
            enabled: true,
            not_before: None,
            expires: None,
            created: now,
            updated: now,
            tags: current.tags.clone(),
            content_type: None,
            payload: Payload::Key(fresh),
        };
        Ok(add_version(
            vault,
            &base,
            ObjectKind::Key,
            name,
            version,
            false,
        ))
    })
}

fn import_key(ctx: &Ctx, name: &str, body: &[u8]) -> Result<Response, Response> {
    let body = parse_body(body)?;
    let jwk = body
        .get("key")
        .ok_or_else(|| bad_parameter("The key to import ('key') is required."))?;
    let kty = jwk
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_parameter("key.kty is required."))?;
    let bytes = |field: &str| -> Result<Option<Vec<u8>>, Response> {
        jwk.get(field)
            .and_then(Value::as_str)
            .map(|text| {
                URL_SAFE_NO_PAD
                    .decode(text.trim_end_matches('='))
                    .map_err(|_| bad_parameter(&format!("key.{field} is not base64url.")))
            })
            .transpose()
    };
    let material = KeyMaterial {
        kty: kty.to_owned(),
        key_ops: string_list(jwk, "key_ops"),
        n: bytes("n")?,
        e: bytes("e")?,
        crv: jwk.get("crv").and_then(Value::as_str).map(str::to_owned),
        x: bytes("x")?,
        y: bytes("y")?,
    };
    let version = new_version(&body, Payload::Key(material))?;
    let base = ctx.base();
    ctx.with_this_vault_mut(ObjectKind::Key, Operation::Import, Some(name), |vault| {
        check_new_version(vault, ObjectKind::Key, name)?;
        Ok(add_version(
            vault,
            &base,
            ObjectKind::Key,
            name,
            version,
            false,
        ))
    })
}

/// What a create-certificate request asks for in its policy.
struct RequestedCertificate {
    subject: String,
    dns_names: Vec<String>,
    validity_months: u32,
    lifetime_actions: Option<Value>,
    /// `key_props.exportable` (Key Vault's default: true).
    exportable: bool,
    /// `secret_props.contentType` (Key Vault's default: PKCS#12).
    content_type: String,
    /// `key_props` (Key Vault's default: RSA 2048).
    key: material::CertificateKey,
}

impl RequestedCertificate {
    /// Reads the request's policy; an issuer other than `Self` is refused.
    fn from_body(body: &Value) -> Result<Self, Response> {
        let requested = body.get("policy").cloned().unwrap_or_else(|| json!({}));
        let issuer = requested
            .pointer("/issuer/name")
            .and_then(Value::as_str)
            .unwrap_or("Self");
        if !issuer.eq_ignore_ascii_case("self") {
            return Err(bad_parameter(&format!(
                "The issuer '{issuer}' is not configured in this vault; the emulator issues self-signed certificates only (issuer 'Self')."
            )));
        }
        let key = material::CertificateKey::from_key_props(requested.get("key_props"))
            .map_err(|message| bad_parameter(&message))?;
        Ok(Self {
            key,
            subject: requested
                .pointer("/x509_props/subject")
                .and_then(Value::as_str)
                .unwrap_or("CN=DefaultPolicy")
                .to_owned(),
            dns_names: requested
                .pointer("/x509_props/sans/dns_names")
                .and_then(Value::as_array)
                .map(|names| {
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            validity_months: requested
                .pointer("/x509_props/validity_months")
                .and_then(Value::as_u64)
                .and_then(|months| u32::try_from(months).ok())
                .unwrap_or(12),
            lifetime_actions: requested.get("lifetime_actions").cloned(),
            exportable: requested
                .pointer("/key_props/exportable")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            content_type: requested
                .pointer("/secret_props/contentType")
                .and_then(Value::as_str)
                .unwrap_or(crate::transfer::certificate_files::PKCS12_CONTENT_TYPE)
                .to_owned(),
        })
    }
}

/// A certificate's key and secret share its name: an unmanaged or deleted key or secret of that name
/// blocks it.
fn check_certificate_name_free(vault: &VaultState, name: &str) -> Result<(), Response> {
    for kind in [ObjectKind::Key, ObjectKind::Secret] {
        let key = name.to_ascii_lowercase();
        if vault.deleted(kind).contains_key(&key)
            || vault.objects(kind).get(&key).is_some_and(|o| !o.managed)
        {
            return Err(keyvault_error(
                StatusCode::CONFLICT,
                "Conflict",
                &format!(
                    "A {} named {name} already exists, so a certificate of that name cannot be created.",
                    kind.lower()
                ),
                None,
            ));
        }
    }
    Ok(())
}

fn create_certificate(ctx: &Ctx, name: &str, body: &[u8]) -> Result<Response, Response> {
    let body = parse_body(body)?;
    let requested = RequestedCertificate::from_body(&body)?;
    let tags = parse_tags(&body)?.unwrap_or_default();
    let enabled = body
        .pointer("/attributes/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let now = now_unix();
    let RequestedCertificate {
        subject,
        dns_names,
        validity_months,
        lifetime_actions,
        exportable,
        content_type,
        key: requested_key,
    } = requested;
    let material::IssuedCertificate {
        certificate,
        key,
        csr,
    } = material::make_certificate(&subject, &dns_names, now, validity_months, &requested_key)
        .map_err(|message| bad_parameter(&message))?;
    let mut policy = material::certificate_policy(&subject, &dns_names, validity_months, now);
    if let Some(lifetime) = lifetime_actions {
        policy["lifetime_actions"] = lifetime;
    }
    policy["key_props"] = requested_key.key_props(exportable);
    policy["secret_props"]["contentType"] = json!(content_type);
    let base = ctx.base();
    let issuance = ctx.certificate_issuance();
    ctx.with_this_vault_mut(
        ObjectKind::Certificate,
        Operation::Create,
        Some(name),
        |vault| {
            check_new_version(vault, ObjectKind::Certificate, name)?;
            check_certificate_name_free(vault, name)?;
            let key_name = name.to_ascii_lowercase();
            if vault.pending_certificates.contains_key(&key_name) {
                return Err(keyvault_error(
                    StatusCode::CONFLICT,
                    "Conflict",
                    &format!(
                        "Certificate {name} has a creation in progress; wait for it or cancel it."
                    ),
                    None,
                ));
            }
            // While pending, the certificate exists but is disabled (the writes reference, §1.4); the
            // pending GET completes it once the issuance time has passed.
            let version = state::new_version_id();
            state::add_certificate_version(
                vault,
                state::NewCertificateVersion {
                    name,
                    version: version.clone(),
                    certificate,
                    key,
                    tags,
                    enabled: false,
                    created: now,
                    policy: Some(policy),
                },
            );
            let request_id = uuid::Uuid::new_v4().simple().to_string();
            vault
                .certificate_requests
                .insert(key_name.clone(), csr.clone());
            vault.pending_certificates.insert(
                key_name,
                state::PendingCertificate {
                    version,
                    enable: enabled,
                    ready_at: std::time::Instant::now() + issuance,
                    request_id: request_id.clone(),
                    csr: csr.clone(),
                },
            );
            Ok(pending_response(
                StatusCode::ACCEPTED,
                &base,
                name,
                "inProgress",
                &csr,
                &request_id,
            ))
        },
    )
}

/// `POST /certificates/{name}/import`: a PFX (base64, `pwd`) or PEM (`value`) with its private key becomes
/// a new certificate, or a new version of one; its managed key and secret follow.
fn import_certificate(ctx: &Ctx, name: &str, body: &[u8]) -> Result<Response, Response> {
    use crate::transfer::certificate_files::{
        self, CertificateFileError, PEM_CONTENT_TYPE, PKCS12_CONTENT_TYPE,
    };
    let body = parse_body(body)?;
    let value = body
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_parameter("The certificate to import ('value') is required."))?;
    let password = body.get("pwd").and_then(Value::as_str).unwrap_or("");
    let (key_der, chain) = certificate_files::open_upload(value, password).map_err(|error| {
        bad_parameter(&match error {
            CertificateFileError::WrongPassword => {
                "The specified PEM X.509 certificate content is in an unexpected format or the PFX password is incorrect.".to_owned()
            }
            CertificateFileError::NoPrivateKey => {
                "The certificate to import has no private key; Key Vault imports a certificate with its key.".to_owned()
            }
            other => format!("The certificate to import cannot be read: {other}."),
        })
    })?;
    let (certificate, key) = material::imported_certificate(&key_der, &chain)
        .map_err(|message| bad_parameter(&message))?;
    let tags = parse_tags(&body)?.unwrap_or_default();
    let enabled = body
        .pointer("/attributes/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let content_type = body
        .pointer("/policy/secret_props/contentType")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if value.trim_start().starts_with("-----BEGIN") {
                PEM_CONTENT_TYPE.to_owned()
            } else {
                PKCS12_CONTENT_TYPE.to_owned()
            }
        });
    let now = now_unix();
    let validity_months =
        u32::try_from((certificate.not_after - certificate.not_before) / (30 * 86_400))
            .unwrap_or(12)
            .max(1);
    let mut policy = material::certificate_policy(
        &certificate.subject,
        &certificate.dns_names,
        validity_months,
        now,
    );
    policy["issuer"] = json!({"name": "Unknown"});
    policy["key_props"]["kty"] = json!(key.kty);
    policy["key_props"]["crv"] = json!(key.crv);
    policy["key_props"]["exportable"] = json!(
        body.pointer("/policy/key_props/exportable")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    );
    policy["secret_props"]["contentType"] = json!(content_type);
    let base = ctx.base();
    ctx.with_this_vault_mut(
        ObjectKind::Certificate,
        Operation::Import,
        Some(name),
        |vault| {
            check_new_version(vault, ObjectKind::Certificate, name)?;
            check_certificate_name_free(vault, name)?;
            let version = state::new_version_id();
            state::add_certificate_version(
                vault,
                state::NewCertificateVersion {
                    name,
                    version,
                    certificate,
                    key,
                    tags,
                    enabled,
                    created: now,
                    policy: Some(policy),
                },
            );
            let object = vault
                .objects(ObjectKind::Certificate)
                .get(&name.to_ascii_lowercase())
                .cloned()
                .ok_or_else(|| object_not_found(ObjectKind::Certificate, name))?;
            let current = object
                .current()
                .ok_or_else(|| object_not_found(ObjectKind::Certificate, name))?;
            Ok(keyvault_json(
                StatusCode::OK,
                render::bundle(
                    &base,
                    ObjectKind::Certificate,
                    &object,
                    current,
                    vault,
                    false,
                ),
            ))
        },
    )
}

/// A certificate operation with Key Vault's headers: `Location` (the pending URL to poll) and
/// `Retry-After` while it is in progress.
fn pending_response(
    status: StatusCode,
    base: &str,
    name: &str,
    operation_status: &str,
    csr: &[u8],
    request_id: &str,
) -> Response {
    let mut response = keyvault_json(
        status,
        render::certificate_operation(base, name, operation_status, csr),
    );
    let headers = response.headers_mut();
    let location = format!(
        "{base}/certificates/{name}/pending?api-version=2025-07-01&request_id={request_id}"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&location) {
        headers.insert(axum::http::header::LOCATION, value);
    }
    if operation_status == "inProgress" {
        headers.insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

fn pending_operation(ctx: &Ctx, name: &str) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_this_vault_mut(
        ObjectKind::Certificate,
        Operation::Get,
        Some(name),
        |vault| {
            let key_name = name.to_ascii_lowercase();
            if let Some(pending) = vault.pending_certificates.get(&key_name) {
                if std::time::Instant::now() < pending.ready_at {
                    return Ok(pending_response(
                        StatusCode::OK,
                        &base,
                        name,
                        "inProgress",
                        &pending.csr,
                        &pending.request_id,
                    ));
                }
                let done = vault.pending_certificates.remove(&key_name);
                if let Some(done) = done {
                    state::complete_certificate(vault, name, &done.version, done.enable);
                }
            }
            let object = vault
                .objects(ObjectKind::Certificate)
                .get(&name.to_ascii_lowercase())
                .ok_or_else(|| {
                    keyvault_error(
                        StatusCode::NOT_FOUND,
                        "PendingCertificateNotFound",
                        &format!("Pending certificate not found: {name}"),
                        None,
                    )
                })?;
            // A certificate made by a create has its request; an imported or seeded one none (Key
            // Vault answers its operation without a csr then too, UNVERIFIED).
            let csr = vault
                .certificate_requests
                .get(&key_name)
                .cloned()
                .unwrap_or_default();
            Ok(keyvault_json(
                StatusCode::OK,
                render::certificate_operation(&base, &object.name, "completed", &csr),
            ))
        },
    )
}

fn get_policy(ctx: &Ctx, name: &str) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_vault(
        ObjectKind::Certificate,
        Operation::Get,
        Some(name),
        |_, vault| {
            let object = vault
                .objects(ObjectKind::Certificate)
                .get(&name.to_ascii_lowercase())
                .ok_or_else(|| object_not_found(ObjectKind::Certificate, name))?;
            let policy = render::policy(&base, object).unwrap_or_else(|| json!({}));
            Ok(keyvault_json(StatusCode::OK, policy))
        },
    )
}

fn update_policy(ctx: &Ctx, name: &str, body: &[u8]) -> Result<Response, Response> {
    let body = parse_body(body)?;
    let Some(changes) = body.as_object().cloned() else {
        return Err(bad_parameter("The policy must be a JSON object."));
    };
    let base = ctx.base();
    ctx.with_this_vault_mut(
        ObjectKind::Certificate,
        Operation::Update,
        Some(name),
        |vault| {
            let object = vault
                .objects_mut(ObjectKind::Certificate)
                .get_mut(&name.to_ascii_lowercase())
                .ok_or_else(|| object_not_found(ObjectKind::Certificate, name))?;
            let mut policy = object.policy.take().unwrap_or_else(|| json!({}));
            let mut merged: BTreeMap<String, Value> = policy
                .as_object()
                .map(|map| map.clone().into_iter().collect())
                .unwrap_or_default();
            for (key, value) in changes {
                if key != "id" {
                    merged.insert(key, value);
                }
            }
            policy = json!(merged);
            policy["attributes"]["updated"] = json!(now_unix());
            object.policy = Some(policy);
            let rendered = render::policy(&base, object).unwrap_or_else(|| json!({}));
            Ok(keyvault_json(StatusCode::OK, rendered))
        },
    )
}
