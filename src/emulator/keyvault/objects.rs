//! What secrets, keys and certificates share on the data plane: list, versions, get (with or without a
//! trailing slash), update of attributes and tags, soft delete, the deleted collection, recover, purge,
//! backup and restore. Each handler authorizes its operation for the caller before touching the vault.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::render;
use super::{
    Ctx, bad_parameter, deleted_but_recoverable, deleted_not_found, object_not_found, parse_body,
    parse_tags, respond,
};
use crate::emulator::Shared;
use crate::emulator::authz::Operation;
use crate::emulator::now_unix;
use crate::emulator::responses::{keyvault_error, keyvault_json};
use crate::emulator::state::{Backup, ObjectKind, ObjectState, Payload, VersionState};

/// Adds the shared routes of `kind` to `router`.
pub(super) fn routes(router: Router<Arc<Shared>>, kind: ObjectKind) -> Router<Arc<Shared>> {
    let collection = kind.collection();
    let deleted = kind.deleted_collection();
    router
        .route(
            &format!("/{collection}"),
            get(move |ctx: Ctx| async move { respond(list(&ctx, kind)) }),
        )
        .route(
            &format!("/{collection}/"),
            get(move |ctx: Ctx| async move { respond(list(&ctx, kind)) }),
        )
        .route(
            &format!("/{collection}/{{name}}/versions"),
            get(move |ctx: Ctx, Path(name): Path<String>| async move {
                respond(list_versions(&ctx, kind, &name))
            }),
        )
        .route(
            &format!("/{collection}/{{name}}"),
            get(move |ctx: Ctx, Path(name): Path<String>| async move {
                respond(get_version(&ctx, kind, &name, None))
            })
            .patch(
                move |ctx: Ctx, Path(name): Path<String>, body: Bytes| async move {
                    respond(update(&ctx, kind, &name, None, &body))
                },
            )
            .delete(move |ctx: Ctx, Path(name): Path<String>| async move {
                respond(soft_delete(&ctx, kind, &name))
            }),
        )
        .route(
            &format!("/{collection}/{{name}}/"),
            get(move |ctx: Ctx, Path(name): Path<String>| async move {
                respond(get_version(&ctx, kind, &name, None))
            })
            .patch(
                move |ctx: Ctx, Path(name): Path<String>, body: Bytes| async move {
                    respond(update(&ctx, kind, &name, None, &body))
                },
            ),
        )
        .route(
            &format!("/{collection}/{{name}}/{{version}}"),
            get(
                move |ctx: Ctx, Path((name, version)): Path<(String, String)>| async move {
                    respond(get_version(&ctx, kind, &name, Some(&version)))
                },
            )
            .patch(
                move |ctx: Ctx, Path((name, version)): Path<(String, String)>, body: Bytes| async move {
                    respond(update(&ctx, kind, &name, Some(&version), &body))
                },
            ),
        )
        .route(
            &format!("/{collection}/{{name}}/backup"),
            post(move |ctx: Ctx, Path(name): Path<String>| async move {
                respond(backup(&ctx, kind, &name))
            }),
        )
        .route(
            &format!("/{collection}/restore"),
            post(move |ctx: Ctx, body: Bytes| async move { respond(restore(&ctx, kind, &body)) }),
        )
        .route(
            &format!("/{deleted}"),
            get(move |ctx: Ctx| async move { respond(list_deleted(&ctx, kind)) }),
        )
        .route(
            &format!("/{deleted}/{{name}}"),
            get(move |ctx: Ctx, Path(name): Path<String>| async move {
                respond(get_deleted(&ctx, kind, &name))
            })
            .delete(move |ctx: Ctx, Path(name): Path<String>| async move {
                respond(purge(&ctx, kind, &name))
            }),
        )
        .route(
            &format!("/{deleted}/{{name}}/recover"),
            post(move |ctx: Ctx, Path(name): Path<String>| async move {
                respond(recover(&ctx, kind, &name))
            }),
        )
}

fn list(ctx: &Ctx, kind: ObjectKind) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_vault(kind, Operation::List, None, |_, vault| {
        ctx.page(
            &format!("/{}", kind.collection()),
            |after| super::entries_after(vault.objects(kind), after),
            |object| {
                object
                    .current()
                    .map(|current| render::item(&base, kind, object, current, false, vault))
            },
        )
    })
}

fn list_versions(ctx: &Ctx, kind: ObjectKind, name: &str) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_vault(kind, Operation::List, Some(name), |_, vault| {
        let object = vault
            .objects(kind)
            .get(&name.to_ascii_lowercase())
            .ok_or_else(|| object_not_found(kind, name))?;
        // Keys for paging: the position, zero-padded so that string order is index order.
        let keyed: Vec<(String, &VersionState)> = object
            .versions
            .iter()
            .enumerate()
            .map(|(index, version)| (format!("{index:08}"), version))
            .collect();
        ctx.page(
            &format!("/{}/{}/versions", kind.collection(), object.name),
            |after| {
                let after = after.map(str::to_owned);
                keyed
                    .iter()
                    .filter(move |(key, _)| after.as_ref().is_none_or(|after| key > after))
                    .map(|(key, version)| (key, *version))
            },
            |version| Some(render::item(&base, kind, object, version, true, vault)),
        )
    })
}

fn get_version(
    ctx: &Ctx,
    kind: ObjectKind,
    name: &str,
    version: Option<&str>,
) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_vault(kind, Operation::Get, Some(name), |_, vault| {
        let object = vault
            .objects(kind)
            .get(&name.to_ascii_lowercase())
            .ok_or_else(|| object_not_found(kind, name))?;
        let found = match version.filter(|v| !v.is_empty()) {
            None => object.current(),
            Some(version) => object.version(version),
        }
        .ok_or_else(|| object_not_found(kind, &format!("{name}/{}", version.unwrap_or(""))))?;
        if !found.enabled && kind != ObjectKind::Certificate {
            return Err(keyvault_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "Operation get is not allowed on a disabled {}.",
                    kind.lower()
                ),
                Some(&format!("{}Disabled", kind.noun())),
            ));
        }
        Ok(keyvault_json(
            StatusCode::OK,
            render::bundle(&base, kind, object, found, vault, true),
        ))
    })
}

/// Applies `attributes` (`enabled`, `nbf`, `exp`) from a request body to a version.
pub(super) fn apply_attributes(version: &mut VersionState, body: &Value) -> Result<(), Response> {
    let Some(attributes) = body.get("attributes").filter(|a| !a.is_null()) else {
        return Ok(());
    };
    if let Some(enabled) = attributes.get("enabled").filter(|v| !v.is_null()) {
        version.enabled = enabled
            .as_bool()
            .ok_or_else(|| bad_parameter("attributes.enabled must be a boolean."))?;
    }
    for (field, slot) in [
        ("nbf", &mut version.not_before),
        ("exp", &mut version.expires),
    ] {
        match attributes.get(field) {
            None => {}
            Some(Value::Null) => *slot = None,
            Some(value) => {
                *slot = Some(value.as_i64().ok_or_else(|| {
                    bad_parameter(&format!(
                        "attributes.{field} must be an integer number of seconds since 1970."
                    ))
                })?);
            }
        }
    }
    Ok(())
}

fn update(
    ctx: &Ctx,
    kind: ObjectKind,
    name: &str,
    version: Option<&str>,
    body: &[u8],
) -> Result<Response, Response> {
    let body = parse_body(body)?;
    let tags = parse_tags(&body)?;
    let base = ctx.base();
    ctx.with_this_vault_mut(kind, Operation::Update, Some(name), |vault| {
        let object = vault
            .objects_mut(kind)
            .get_mut(&name.to_ascii_lowercase())
            .ok_or_else(|| object_not_found(kind, name))?;
        let target_version = match version.filter(|v| !v.is_empty()) {
            Some(version) => version.to_owned(),
            None => object
                .current()
                .map(|current| current.version.clone())
                .ok_or_else(|| object_not_found(kind, name))?,
        };
        let found = object
            .version_mut(&target_version)
            .ok_or_else(|| object_not_found(kind, &format!("{name}/{target_version}")))?;
        apply_attributes(found, &body)?;
        if let Some(tags) = tags {
            found.tags = tags;
        }
        if kind == ObjectKind::Secret
            && let Some(content_type) = body.get("contentType")
        {
            found.content_type = content_type.as_str().map(str::to_owned);
        }
        if let (Some(ops), Payload::Key(material)) = (body.get("key_ops"), &mut found.payload) {
            material.key_ops = ops
                .as_array()
                .ok_or_else(|| bad_parameter("key_ops must be an array of strings."))?
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
        }
        found.updated = now_unix();
        let found = found.clone();
        let object = object.clone();
        let vault = vault.clone();
        Ok(keyvault_json(
            StatusCode::OK,
            render::bundle(&base, kind, &object, &found, &vault, false),
        ))
    })
}

/// The kinds that go together: a certificate takes its managed key and secret along.
fn companions(kind: ObjectKind) -> &'static [ObjectKind] {
    match kind {
        ObjectKind::Certificate => &[ObjectKind::Certificate, ObjectKind::Key, ObjectKind::Secret],
        ObjectKind::Key => &[ObjectKind::Key],
        ObjectKind::Secret => &[ObjectKind::Secret],
    }
}

fn managed_refusal(kind: ObjectKind, name: &str, operation: &str) -> Response {
    keyvault_error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "{} {name} is managed by the certificate of the same name; {operation} the certificate instead.",
            kind.noun()
        ),
        None,
    )
}

fn soft_delete(ctx: &Ctx, kind: ObjectKind, name: &str) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_vault_mut(kind, Operation::Delete, Some(name), |cloud, vault_name| {
        let vault = cloud
            .vaults
            .get_mut(vault_name)
            .ok_or_else(|| super::vault_not_found(vault_name))?;
        let key = name.to_ascii_lowercase();
        match vault.objects(kind).get(&key) {
            None => return Err(object_not_found(kind, name)),
            Some(object) if object.managed => {
                return Err(managed_refusal(kind, &object.name, "delete"));
            }
            Some(_) => {}
        }
        let now = now_unix();
        let mut primary = None;
        for &companion in companions(kind) {
            if let Some(deleted) = vault.soft_delete(companion, name, now)
                && companion == kind
            {
                primary = Some(deleted);
            }
        }
        let deleted = primary.ok_or_else(|| object_not_found(kind, name))?;
        let current = deleted
            .object
            .current()
            .ok_or_else(|| object_not_found(kind, name))?;
        let mut body = render::bundle(&base, kind, &deleted.object, current, vault, false);
        render::add_deleted_fields(&mut body, &base, kind, &deleted);
        Ok(keyvault_json(StatusCode::OK, body))
    })
}

fn list_deleted(ctx: &Ctx, kind: ObjectKind) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_vault(kind, Operation::ListDeleted, None, |_, vault| {
        ctx.page(
            &format!("/{}", kind.deleted_collection()),
            |after| super::entries_after(vault.deleted(kind), after),
            |deleted| {
                let current = deleted.object.current()?;
                let mut item = render::item(&base, kind, &deleted.object, current, false, vault);
                render::add_deleted_fields(&mut item, &base, kind, deleted);
                Some(item)
            },
        )
    })
}

fn get_deleted(ctx: &Ctx, kind: ObjectKind, name: &str) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_vault(kind, Operation::GetDeleted, Some(name), |_, vault| {
        let deleted = vault
            .deleted(kind)
            .get(&name.to_ascii_lowercase())
            .ok_or_else(|| deleted_not_found(kind, name))?;
        let current = deleted
            .object
            .current()
            .ok_or_else(|| deleted_not_found(kind, name))?;
        let mut body = render::bundle(&base, kind, &deleted.object, current, vault, false);
        render::add_deleted_fields(&mut body, &base, kind, deleted);
        Ok(keyvault_json(StatusCode::OK, body))
    })
}

fn purge(ctx: &Ctx, kind: ObjectKind, name: &str) -> Result<Response, Response> {
    ctx.with_vault_mut(kind, Operation::Purge, Some(name), |cloud, vault_name| {
        let vault = cloud
            .vaults
            .get_mut(vault_name)
            .ok_or_else(|| super::vault_not_found(vault_name))?;
        let key = name.to_ascii_lowercase();
        if !vault.deleted(kind).contains_key(&key) {
            return Err(deleted_not_found(kind, name));
        }
        if vault.enable_purge_protection {
            return Err(keyvault_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "Operation \"purge\" is not allowed on {} {name}: the vault {} has purge protection enabled, so deleted objects stay until their scheduled purge date.",
                    kind.lower(),
                    vault.name
                ),
                Some("PurgeProtectionEnabled"),
            ));
        }
        for &companion in companions(kind) {
            vault.deleted_mut(companion).remove(&key);
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

fn recover(ctx: &Ctx, kind: ObjectKind, name: &str) -> Result<Response, Response> {
    let base = ctx.base();
    ctx.with_vault_mut(kind, Operation::Recover, Some(name), |cloud, vault_name| {
        let vault = cloud
            .vaults
            .get_mut(vault_name)
            .ok_or_else(|| super::vault_not_found(vault_name))?;
        let key = name.to_ascii_lowercase();
        if !vault.deleted(kind).contains_key(&key) {
            return Err(deleted_not_found(kind, name));
        }
        if vault.objects(kind).contains_key(&key) {
            return Err(keyvault_error(
                StatusCode::CONFLICT,
                "Conflict",
                &format!("{} {name} already exists.", kind.noun()),
                None,
            ));
        }
        for &companion in companions(kind) {
            if let Some(deleted) = vault.deleted_mut(companion).remove(&key) {
                vault
                    .objects_mut(companion)
                    .insert(key.clone(), deleted.object);
            }
        }
        let object = vault
            .objects(kind)
            .get(&key)
            .ok_or_else(|| object_not_found(kind, name))?;
        let current = object
            .current()
            .ok_or_else(|| object_not_found(kind, name))?;
        Ok(keyvault_json(
            StatusCode::OK,
            render::bundle(&base, kind, object, current, vault, false),
        ))
    })
}

fn backup(ctx: &Ctx, kind: ObjectKind, name: &str) -> Result<Response, Response> {
    ctx.with_vault_mut(kind, Operation::Backup, Some(name), |cloud, vault_name| {
        let vault = cloud
            .vaults
            .get(vault_name)
            .ok_or_else(|| super::vault_not_found(vault_name))?;
        let key = name.to_ascii_lowercase();
        let object = vault
            .objects(kind)
            .get(&key)
            .ok_or_else(|| object_not_found(kind, name))?;
        if object.managed {
            return Err(managed_refusal(kind, &object.name, "back up"));
        }
        let objects: Vec<(ObjectKind, ObjectState)> = companions(kind)
            .iter()
            .filter_map(|&companion| {
                vault
                    .objects(companion)
                    .get(&key)
                    .map(|object| (companion, object.clone()))
            })
            .collect();
        // Opaque to clients; it names an entry kept for the emulator's lifetime (the newest 1,000 backups).
        let blob = URL_SAFE_NO_PAD.encode(
            format!(
                "vaultscope-emulator-backup/{}/{}",
                kind.collection(),
                uuid::Uuid::new_v4().simple()
            )
            .as_bytes(),
        );
        let subscription_id = vault.subscription_id.clone();
        let geography = crate::emulator::state::geography_of(&vault.location);
        crate::emulator::state::make_room(
            &mut cloud.backups,
            crate::emulator::state::MAX_KEPT_GRANTS / 10,
            |backup| backup.taken_at,
            |_| false,
        );
        cloud.backups.insert(
            blob.clone(),
            Backup {
                kind,
                subscription_id,
                geography: geography.to_owned(),
                objects,
                taken_at: crate::emulator::now_unix(),
            },
        );
        Ok(keyvault_json(StatusCode::OK, json!({ "value": blob })))
    })
}

fn restore(ctx: &Ctx, kind: ObjectKind, body: &[u8]) -> Result<Response, Response> {
    let body = parse_body(body)?;
    let blob = body
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_parameter("The request body must carry the backup blob as 'value'."))?
        .to_owned();
    let base = ctx.base();
    ctx.with_vault_mut(kind, Operation::Restore, None, |cloud, vault_name| {
        let backup = cloud
            .backups
            .get(&blob)
            .filter(|backup| backup.kind == kind)
            .cloned()
            .ok_or_else(|| {
                bad_parameter(&format!(
                    "The backup blob is not a valid {} backup.",
                    kind.lower()
                ))
            })?;
        let vault = cloud
            .vaults
            .get_mut(vault_name)
            .ok_or_else(|| super::vault_not_found(vault_name))?;
        // Key Vault answers both with "Cannot decrypt backup blob."; the emulator adds which rule it broke.
        if !backup
            .subscription_id
            .eq_ignore_ascii_case(&vault.subscription_id)
        {
            return Err(bad_parameter(&format!(
                "Cannot decrypt backup blob. It was taken in subscription {} and restores only into a vault of that subscription; {} is in {}.",
                backup.subscription_id, vault.name, vault.subscription_id
            )));
        }
        let geography = crate::emulator::state::geography_of(&vault.location);
        if backup.geography.as_str() != geography {
            return Err(bad_parameter(&format!(
                "Cannot decrypt backup blob. It was taken in the {} geography and restores only into a vault there; {} is in {} ({geography}).",
                backup.geography, vault.name, vault.location
            )));
        }
        let Some((_, primary)) = backup.objects.iter().find(|(k, _)| *k == kind) else {
            return Err(bad_parameter("The backup blob is empty."));
        };
        let key = primary.name.to_ascii_lowercase();
        if vault.deleted(kind).contains_key(&key) {
            return Err(deleted_but_recoverable(kind, &primary.name));
        }
        if vault.objects(kind).contains_key(&key) {
            return Err(keyvault_error(
                StatusCode::CONFLICT,
                "Conflict",
                &format!(
                    "{} {} already exists; a backup can be restored only under a free name.",
                    kind.noun(),
                    primary.name
                ),
                None,
            ));
        }
        for (companion, object) in &backup.objects {
            vault
                .objects_mut(*companion)
                .insert(key.clone(), object.clone());
        }
        let current = primary
            .current()
            .ok_or_else(|| bad_parameter("The backup blob is empty."))?;
        Ok(keyvault_json(
            StatusCode::OK,
            render::bundle(&base, kind, primary, current, vault, false),
        ))
    })
}
