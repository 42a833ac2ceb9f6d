//! Key Vault JSON for secrets, keys and certificates: list items (`SecretItem`, `KeyItem` with `kid`,
//! `CertificateItem` with `x5t`), bundles, deleted variants and certificate policies and operations.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::emulator::state::{
    DeletedObject, ObjectKind, ObjectState, Payload, VaultState, VersionState,
};

/// The attributes block with integer timestamps and the vault's recovery settings. Built as a map of owned
/// values: `json!` would serialize every nested value again, and a page renders 25 of these per request.
pub fn attributes(version: &VersionState, vault: &VaultState) -> Value {
    let mut attributes = Map::with_capacity(8);
    attributes.insert("enabled".into(), Value::Bool(version.enabled));
    attributes.insert("created".into(), version.created.into());
    attributes.insert("updated".into(), version.updated.into());
    attributes.insert(
        "recoverableDays".into(),
        vault.soft_delete_retention_in_days.into(),
    );
    attributes.insert("recoveryLevel".into(), vault.recovery_level().into());
    if let Some(nbf) = version.not_before {
        attributes.insert("nbf".into(), nbf.into());
    }
    if let Some(exp) = version.expires {
        attributes.insert("exp".into(), exp.into());
    }
    if let Payload::Key(_) = version.payload {
        attributes.insert("exportable".into(), Value::Bool(false));
    }
    Value::Object(attributes)
}

/// `{base}/{collection}/{name}` or, with a version, `…/{version}`.
pub fn object_url(base: &str, kind: ObjectKind, name: &str, version: Option<&str>) -> String {
    match version {
        Some(version) => format!("{base}/{}/{name}/{version}", kind.collection()),
        None => format!("{base}/{}/{name}", kind.collection()),
    }
}

/// A list entry: versionless id in collection lists, versioned in version lists.
pub fn item(
    base: &str,
    kind: ObjectKind,
    object: &ObjectState,
    version: &VersionState,
    versioned: bool,
    vault: &VaultState,
) -> Value {
    let url = object_url(
        base,
        kind,
        &object.name,
        versioned.then_some(version.version.as_str()),
    );
    let mut item = Map::with_capacity(6);
    let id_field = match kind {
        ObjectKind::Key => "kid",
        _ => "id",
    };
    item.insert(id_field.into(), Value::String(url));
    item.insert("attributes".into(), attributes(version, vault));
    let tags = version
        .tags
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    item.insert("tags".into(), Value::Object(tags));
    if let Some(content_type) = &version.content_type {
        item.insert("contentType".into(), Value::String(content_type.clone()));
    }
    if object.managed {
        item.insert("managed".into(), Value::Bool(true));
    }
    if let Payload::Certificate(certificate) = &version.payload {
        item.insert("x5t".into(), Value::String(certificate.x5t.clone()));
    }
    Value::Object(item)
}

/// The full bundle of one version. Secret values are included only when `with_value`.
pub fn bundle(
    base: &str,
    kind: ObjectKind,
    object: &ObjectState,
    version: &VersionState,
    vault: &VaultState,
    with_value: bool,
) -> Value {
    let versioned = object_url(base, kind, &object.name, Some(&version.version));
    let mut bundle = json!({
        "attributes": attributes(version, vault),
        "tags": version.tags,
    });
    if object.managed {
        bundle["managed"] = json!(true);
    }
    match &version.payload {
        Payload::Secret { value } => {
            bundle["id"] = json!(versioned);
            if with_value {
                bundle["value"] = json!(value);
            }
            if let Some(content_type) = &version.content_type {
                bundle["contentType"] = json!(content_type);
            }
            if object.managed {
                bundle["kid"] = json!(object_url(
                    base,
                    ObjectKind::Key,
                    &object.name,
                    Some(&version.version)
                ));
            }
        }
        Payload::Key(material) => {
            bundle["key"] = material.jwk(&versioned);
        }
        Payload::Certificate(certificate) => {
            bundle["id"] = json!(versioned);
            bundle["kid"] = json!(object_url(
                base,
                ObjectKind::Key,
                &object.name,
                Some(&version.version)
            ));
            bundle["sid"] = json!(object_url(
                base,
                ObjectKind::Secret,
                &object.name,
                Some(&version.version)
            ));
            bundle["x5t"] = json!(certificate.x5t);
            bundle["cer"] = json!(STANDARD.encode(&certificate.der));
            bundle["preserveCertOrder"] = json!(false);
            if let Some(policy) = policy(base, object) {
                bundle["policy"] = policy;
            }
        }
    }
    bundle
}

/// A certificate's policy with its `id`.
pub fn policy(base: &str, object: &ObjectState) -> Option<Value> {
    let mut policy = object.policy.clone()?;
    policy["id"] = json!(format!("{base}/certificates/{}/policy", object.name));
    Some(policy)
}

/// The deleted-object fields added to an item or bundle.
pub fn add_deleted_fields(
    value: &mut Value,
    base: &str,
    kind: ObjectKind,
    deleted: &DeletedObject,
) {
    value["recoveryId"] = json!(format!(
        "{base}/{}/{}",
        kind.deleted_collection(),
        deleted.object.name
    ));
    value["deletedDate"] = json!(deleted.deleted_date);
    value["scheduledPurgeDate"] = json!(deleted.scheduled_purge_date);
}

/// A completed certificate operation (`…/pending`).
pub fn certificate_operation(base: &str, name: &str, status: &str, csr: &[u8]) -> Value {
    let mut operation = json!({
        "id": format!("{base}/certificates/{name}/pending"),
        "issuer": {"name": "Self"},
        "csr": STANDARD.encode(csr),
        "cancellation_requested": false,
        "status": status,
        "status_details": if status == "completed" { "" } else { "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later." },
        "request_id": uuid::Uuid::new_v4().simple().to_string(),
    });
    if status == "completed" {
        operation["target"] = json!(format!("{base}/certificates/{name}"));
    }
    operation
}
