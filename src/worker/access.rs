//! Gathers what the access evaluator needs for one vault (the vault's properties, role assignments at, above
//! and below it, role definitions, deny assignments, directory names) and resolves the principal to check
//! with its transitive groups. What cannot be read becomes a stated gap, not a failure, except the vault.

use std::collections::{BTreeSet, HashMap};

use super::protocol::{FailureReason, PrincipalRef};
use super::session::Session;
use crate::access::{NetworkExposure, PermissionModel, Subject, VaultAccessData};
use crate::azure::AzureError;
use crate::azure::access_models::DirectoryObject;
use crate::azure::resource_id::subscription_scope;

/// Reads everything about who may do what on the vault `arm_id`.
pub async fn load_vault_access(
    session: &Session,
    arm_id: &str,
    subscription_name: Option<String>,
) -> Result<VaultAccessData, FailureReason> {
    let vault = session.arm.get_vault(arm_id).await?;
    let subscription_scope = subscription_scope(arm_id).ok_or_else(|| {
        FailureReason::Azure(AzureError::InvalidUri(format!(
            "{arm_id} is not a vault resource id"
        )))
    })?;
    let (assignments, definitions, denies) = tokio::join!(
        session.arm.list_role_assignments(arm_id, None),
        session.arm.list_role_definitions(&subscription_scope),
        session.arm.list_deny_assignments(arm_id),
    );
    let mut gaps = Vec::new();
    let role_assignments = assignments.unwrap_or_else(|error| {
        gaps.push(format!("Role assignments could not be read: {error}"));
        Vec::new()
    });
    let role_definitions = definitions.unwrap_or_else(|error| {
        gaps.push(format!("Role definitions could not be read: {error}"));
        Vec::new()
    });
    // Deny assignments are often unreadable (or not served); the evaluator states that as a caveat.
    let deny_assignments = denies.ok();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    ids.extend(
        vault
            .properties
            .access_policies
            .iter()
            .map(|policy| policy.object_id.to_ascii_lowercase()),
    );
    ids.extend(
        role_assignments
            .iter()
            .map(|assignment| assignment.properties.principal_id.to_ascii_lowercase()),
    );
    for deny in deny_assignments.iter().flatten() {
        ids.extend(
            deny.properties
                .principals
                .iter()
                .chain(&deny.properties.exclude_principals)
                .map(|principal| principal.id.to_ascii_lowercase()),
        );
    }
    let mut directory = HashMap::new();
    if !ids.is_empty() {
        let ids: Vec<String> = ids.into_iter().collect();
        match session.graph.get_by_ids(&ids).await {
            Ok(objects) => add_to_directory(&mut directory, objects),
            Err(error) => gaps.push(format!(
                "Principal names could not be read from Microsoft Graph: {error}"
            )),
        }
    }
    Ok(VaultAccessData {
        vault_name: vault.name.clone(),
        arm_id: vault.id.clone(),
        tenant_id: vault.properties.tenant_id.clone().unwrap_or_default(),
        subscription_name,
        model: Some(PermissionModel::of(&vault.properties)),
        network: Some(NetworkExposure::of(&vault.properties)),
        access_policies: vault.properties.access_policies.clone(),
        role_assignments,
        role_definitions,
        deny_assignments,
        directory,
        gaps,
    })
}

/// Finds the principal and its transitive groups; group names are added to `data.directory`.
pub async fn resolve_subject(
    session: &Session,
    principal: &PrincipalRef,
    data: &mut VaultAccessData,
) -> Result<Subject, FailureReason> {
    let (object, tenant_id) = match principal {
        PrincipalRef::Me => {
            let me = session.identity_here().await?;
            let object_id = me.oid.clone().ok_or_else(|| {
                FailureReason::Internal("the sign-in token carries no object id (oid)".into())
            })?;
            let found = session
                .graph
                .get_by_ids(std::slice::from_ref(&object_id))
                .await
                .ok()
                .and_then(|objects| objects.into_iter().next());
            let object = found.unwrap_or_else(|| DirectoryObject {
                id: object_id.clone(),
                display_name: me.name.clone().or(me.upn.clone()),
                user_principal_name: me.upn.clone(),
                odata_type: Some(if me.upn.is_some() {
                    "#microsoft.graph.user".to_owned()
                } else {
                    "#microsoft.graph.servicePrincipal".to_owned()
                }),
                ..Default::default()
            });
            (object, me.tid.clone())
        }
        PrincipalRef::Id(text) => {
            let id = text.trim().to_ascii_lowercase();
            if uuid::Uuid::parse_str(&id).is_err() {
                return Err(FailureReason::Internal(format!(
                    "'{}' is not an object id or application id (a GUID)",
                    text.trim()
                )));
            }
            let by_object_id = session
                .graph
                .get_by_ids(std::slice::from_ref(&id))
                .await?
                .into_iter()
                .next();
            let object = match by_object_id {
                Some(object) => object,
                None => session
                    .graph
                    .service_principal_by_app_id(&id)
                    .await?
                    .ok_or_else(|| {
                        FailureReason::Internal(format!(
                            "no user, group or service principal in this tenant has object id or application id {id}"
                        ))
                    })?,
            };
            (object, None)
        }
    };
    let group_ids = session.graph.member_groups(&object.id).await?;
    let unnamed: Vec<String> = group_ids
        .iter()
        .filter(|id| !data.directory.contains_key(&id.to_ascii_lowercase()))
        .cloned()
        .collect();
    if !unnamed.is_empty()
        && let Ok(groups) = session.graph.get_by_ids(&unnamed).await
    {
        add_to_directory(&mut data.directory, groups);
    }
    add_to_directory(&mut data.directory, [object.clone()]);
    Ok(Subject {
        principal: object,
        tenant_id,
        group_ids,
    })
}

fn add_to_directory(
    directory: &mut HashMap<String, DirectoryObject>,
    objects: impl IntoIterator<Item = DirectoryObject>,
) {
    for object in objects {
        directory.insert(object.id.to_ascii_lowercase(), object);
    }
}
