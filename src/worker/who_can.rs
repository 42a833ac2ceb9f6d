//! Gathers what the reverse check needs (`Command::WhoCan`): the vault's access data, every granting or
//! denied group's transitive members from Microsoft Graph, and the PIM eligibility at or above the vault;
//! then answers with `access::who_can`. A group whose members cannot be read, or eligibility that cannot
//! be read, becomes a stated gap, not a failure.

use std::collections::BTreeSet;

use futures_util::future::join_all;

use super::access::load_vault_access;
use super::protocol::FailureReason;
use super::session::Session;
use crate::access::{Operation, Target, VaultAccessData, WhoCan, WhoCanInputs, who_can};
use crate::azure::access_models::PrincipalKind;

/// At most this many groups' members are read at once.
const MEMBER_READS_AT_ONCE: usize = 8;

pub async fn load_who_can(
    session: &Session,
    arm_id: &str,
    subscription_name: Option<String>,
    target: &Target,
    operation: Option<Operation>,
) -> Result<(VaultAccessData, WhoCan), FailureReason> {
    let mut data = load_vault_access(session, arm_id, subscription_name).await?;
    let holders: BTreeSet<String> = data
        .access_policies
        .iter()
        .map(|policy| policy.object_id.to_ascii_lowercase())
        .chain(
            data.role_assignments
                .iter()
                .map(|assignment| assignment.properties.principal_id.to_ascii_lowercase()),
        )
        .chain(data.deny_assignments.iter().flatten().flat_map(|deny| {
            deny.properties
                .principals
                .iter()
                .chain(&deny.properties.exclude_principals)
                .map(|principal| principal.id.to_ascii_lowercase())
        }))
        .collect();
    let groups: Vec<String> = holders
        .into_iter()
        .filter(|id| data.principal_kind(id) == PrincipalKind::Group)
        .collect();
    let mut inputs = WhoCanInputs::default();
    for chunk in groups.chunks(MEMBER_READS_AT_ONCE) {
        let answers = join_all(
            chunk
                .iter()
                .map(|group| session.graph.transitive_members(group)),
        )
        .await;
        for (group, answer) in chunk.iter().zip(answers) {
            match answer {
                Ok(members) => {
                    inputs.group_members.insert(group.clone(), members);
                }
                Err(error) => data.gaps.push(format!(
                    "The members of group {} could not be read from Microsoft Graph: {error}",
                    data.principal_name(group)
                )),
            }
        }
    }
    match session.arm.list_role_eligibilities(arm_id).await {
        Ok(eligible) => inputs.eligible = Some(eligible),
        Err(error) => data
            .gaps
            .push(format!("PIM eligibility could not be read: {error}")),
    }
    let answer = who_can(&data, &inputs, target, operation);
    Ok((data, answer))
}
