//! The reverse question: who may perform an operation on a vault (or one object in it), and by which path.
//! Every access policy and role assignment that grants the operation is a source; a group source is
//! expanded into its transitive members, each keeping the path "via group X"; deny assignments then block
//! whom they name (groups expanded, excluded principals spared). PIM-eligible assignments are answered
//! apart, as "eligible, not active". Principals that can grant themselves access (the vault's or its
//! policies' write on an access-policy vault, role-assignment write on an RBAC vault, at or above it) are
//! flagged with their path. Pure: the worker gathers the inputs.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::evaluate::{
    ScopeLevel, Target, VaultAccessData, all_operations, allows_action, deny_blocks, deny_covers,
    policy_permissions, role_grants_data_action,
};
use super::{Operation, PermissionModel};
use crate::azure::access_models::{
    DirectoryObject, EVERYONE_PRINCIPAL_ID, PrincipalKind, RoleAssignment, RoleDefinition,
};

/// What the reverse check reads besides the vault's access data.
#[derive(Debug, Clone, Default)]
pub struct WhoCanInputs {
    /// Each group's transitive members (users, service principals, nested groups), by lower-case group id;
    /// a group missing here could not be expanded (stated as a caveat).
    pub group_members: HashMap<String, Vec<DirectoryObject>>,
    /// PIM-eligible role assignments (`roleEligibilityScheduleInstances`), shaped as role assignments;
    /// `None` when they could not be read.
    pub eligible: Option<Vec<RoleAssignment>>,
}

/// How one principal comes to hold an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPath {
    /// "Key Vault Secrets User at resource group rg-prod-app", "access policy: get, list".
    pub grant: String,
    /// The group the grant is assigned to, when the principal holds it as a (transitive) member.
    pub via_group: Option<String>,
}

impl AccessPath {
    pub fn describe(&self) -> String {
        match &self.via_group {
            Some(group) => format!("{}, via group {group}", self.grant),
            None => format!("{}, directly", self.grant),
        }
    }
}

/// One principal in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalAccess {
    pub id: String,
    pub name: String,
    pub kind: PrincipalKind,
    pub paths: Vec<AccessPath>,
    /// Deny assignments that block it (then it is not allowed).
    pub blocked_by: Vec<String>,
}

/// A group that holds a grant: folded, it stands for its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupGrant {
    pub id: String,
    pub name: String,
    pub grant: String,
    /// Transitive members, groups included; `None` when they could not be read.
    pub member_count: Option<usize>,
}

/// Who may perform one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationAccess {
    pub operation: Operation,
    /// Allowed now, by name.
    pub allowed: Vec<PrincipalAccess>,
    /// Granted, but blocked by a deny assignment.
    pub blocked: Vec<PrincipalAccess>,
    /// Would be allowed once they activate a PIM-eligible assignment.
    pub eligible: Vec<PrincipalAccess>,
    /// The groups among the sources, for folding.
    pub groups: Vec<GroupGrant>,
}

/// A principal able to give itself (or anyone) access here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfGranter {
    pub id: String,
    pub name: String,
    pub kind: PrincipalKind,
    /// The control-plane action that lets it: `Microsoft.Authorization/roleAssignments/write`, …
    pub action: &'static str,
    pub path: AccessPath,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoCan {
    pub model: PermissionModel,
    pub target: Target,
    pub operations: Vec<OperationAccess>,
    pub self_granters: Vec<SelfGranter>,
    /// What could not be read or counted.
    pub caveats: Vec<String>,
}

/// A grant before expansion: who holds it, and its words.
struct Source {
    holder_id: String,
    grant: String,
}

/// Everyone reachable from a holder: itself (a user, an SP, or a group), and a group's members.
struct Directory<'a> {
    data: &'a VaultAccessData,
    inputs: &'a WhoCanInputs,
    known: HashMap<String, &'a DirectoryObject>,
}

impl<'a> Directory<'a> {
    fn new(data: &'a VaultAccessData, inputs: &'a WhoCanInputs) -> Self {
        let mut known: HashMap<String, &DirectoryObject> = HashMap::new();
        for members in inputs.group_members.values() {
            for member in members {
                known
                    .entry(member.id.to_ascii_lowercase())
                    .or_insert(member);
            }
        }
        for (id, object) in &data.directory {
            known.insert(id.to_ascii_lowercase(), object);
        }
        Self {
            data,
            inputs,
            known,
        }
    }

    fn name(&self, id: &str) -> String {
        self.known
            .get(&id.to_ascii_lowercase())
            .map_or_else(|| self.data.principal_name(id), |object| object.name())
    }

    fn kind(&self, id: &str) -> PrincipalKind {
        let lower = id.to_ascii_lowercase();
        if self.inputs.group_members.contains_key(&lower) {
            return PrincipalKind::Group;
        }
        self.known
            .get(&lower)
            .map_or(PrincipalKind::Unknown, |object| object.kind())
    }

    fn is_group(&self, id: &str) -> bool {
        self.kind(id) == PrincipalKind::Group
    }

    fn members(&self, group: &str) -> Option<&'a [DirectoryObject]> {
        self.inputs
            .group_members
            .get(&group.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    /// `(principal id, via group name)` for a holder: itself, and if it is a group, every transitive member.
    fn reach(&self, holder: &str) -> Vec<(String, Option<String>)> {
        let lower = holder.to_ascii_lowercase();
        let mut reached = vec![(lower.clone(), None)];
        if let Some(members) = self.members(&lower) {
            let via = self.name(&lower);
            reached.extend(
                members
                    .iter()
                    .map(|member| (member.id.to_ascii_lowercase(), Some(via.clone()))),
            );
        }
        reached
    }
}

fn role_of<'a>(
    data: &'a VaultAccessData,
    assignment: &RoleAssignment,
) -> Option<&'a RoleDefinition> {
    data.role(&assignment.role_guid())
}

/// Role-assignment sources of `operation` among `assignments`.
fn role_sources(
    data: &VaultAccessData,
    assignments: &[RoleAssignment],
    target: &Target,
    operation: Operation,
) -> Vec<Source> {
    let action = operation.data_action();
    assignments
        .iter()
        .filter(|assignment| assignment.properties.condition.is_none())
        .filter_map(|assignment| {
            let level = data.scope_level(&assignment.properties.scope);
            if !level.covers(target, operation) {
                return None;
            }
            let role = role_of(data, assignment)?;
            role_grants_data_action(role, &action).then(|| Source {
                holder_id: assignment.properties.principal_id.to_ascii_lowercase(),
                grant: format!("{} at {}", role.properties.role_name, level.describe()),
            })
        })
        .collect()
}

/// Access-policy sources of `operation` (policies of the vault's tenant, not compound identities).
fn policy_sources(data: &VaultAccessData, operation: Operation) -> Vec<Source> {
    data.access_policies
        .iter()
        .filter(|policy| policy.application_id.as_deref().unwrap_or("").is_empty())
        .filter(|policy| {
            policy.tenant_id.is_empty() || policy.tenant_id.eq_ignore_ascii_case(&data.tenant_id)
        })
        .filter_map(|policy| {
            let listed = policy_permissions(policy, operation.object_type);
            listed
                .iter()
                .any(|granted| {
                    granted.eq_ignore_ascii_case(operation.permission)
                        || granted.eq_ignore_ascii_case("all")
                })
                .then(|| Source {
                    holder_id: policy.object_id.to_ascii_lowercase(),
                    grant: format!("access policy: {}", listed.join(", ")),
                })
        })
        .collect()
}

/// Expands sources into principals with their paths, in a stable order (by name, then id).
fn expand(directory: &Directory<'_>, sources: &[Source]) -> BTreeMap<String, PrincipalAccess> {
    let mut principals: HashMap<String, PrincipalAccess> = HashMap::new();
    for source in sources {
        for (id, via_group) in directory.reach(&source.holder_id) {
            let entry = principals
                .entry(id.clone())
                .or_insert_with(|| PrincipalAccess {
                    name: directory.name(&id),
                    kind: directory.kind(&id),
                    id,
                    paths: Vec::new(),
                    blocked_by: Vec::new(),
                });
            let path = AccessPath {
                grant: source.grant.clone(),
                via_group,
            };
            if !entry.paths.contains(&path) {
                entry.paths.push(path);
            }
        }
    }
    principals
        .into_values()
        .map(|principal| {
            (
                format!("{}\u{0}{}", principal.name.to_lowercase(), principal.id),
                principal,
            )
        })
        .collect()
}

/// For each principal a deny assignment reaches, the deny's words; the excluded (and their groups'
/// members) are spared. `everyone` names the principals it blocks when it applies to everyone.
fn blocked_principals(
    data: &VaultAccessData,
    directory: &Directory<'_>,
    target: &Target,
    operation: Operation,
    candidates: &BTreeMap<String, PrincipalAccess>,
) -> HashMap<String, Vec<String>> {
    let action = operation.data_action();
    let mut blocked: HashMap<String, Vec<String>> = HashMap::new();
    for deny in data.deny_assignments.iter().flatten() {
        let level = data.scope_level(&deny.properties.scope);
        if !deny_covers(&level, deny, target, operation) || !deny_blocks(deny, &action) {
            continue;
        }
        let excluded: HashSet<String> = deny
            .properties
            .exclude_principals
            .iter()
            .flat_map(|principal| directory.reach(&principal.id))
            .map(|(id, _)| id)
            .collect();
        let words = format!(
            "deny assignment '{}' at {}",
            deny.properties.deny_assignment_name,
            level.describe()
        );
        let reached: Vec<String> = if deny
            .properties
            .principals
            .iter()
            .any(|principal| principal.id == EVERYONE_PRINCIPAL_ID)
        {
            candidates
                .values()
                .map(|principal| principal.id.clone())
                .collect()
        } else {
            deny.properties
                .principals
                .iter()
                .flat_map(|principal| directory.reach(&principal.id))
                .map(|(id, _)| id)
                .collect()
        };
        for id in reached {
            if !excluded.contains(&id) {
                let entry = blocked.entry(id).or_default();
                if !entry.contains(&words) {
                    entry.push(words.clone());
                }
            }
        }
    }
    blocked
}

fn group_grants(directory: &Directory<'_>, sources: &[Source]) -> Vec<GroupGrant> {
    let mut groups: Vec<GroupGrant> = sources
        .iter()
        .filter(|source| directory.is_group(&source.holder_id))
        .map(|source| GroupGrant {
            id: source.holder_id.clone(),
            name: directory.name(&source.holder_id),
            grant: source.grant.clone(),
            member_count: directory.members(&source.holder_id).map(<[_]>::len),
        })
        .collect();
    groups
        .sort_by(|a, b| (a.name.to_lowercase(), &a.grant).cmp(&(b.name.to_lowercase(), &b.grant)));
    groups.dedup();
    groups
}

fn answer_operation(
    data: &VaultAccessData,
    inputs: &WhoCanInputs,
    directory: &Directory<'_>,
    model: PermissionModel,
    target: &Target,
    operation: Operation,
) -> OperationAccess {
    let sources = match model {
        PermissionModel::AccessPolicies => policy_sources(data, operation),
        PermissionModel::Rbac => role_sources(data, &data.role_assignments, target, operation),
    };
    let granted = expand(directory, &sources);
    let blocked_map = match model {
        PermissionModel::Rbac => blocked_principals(data, directory, target, operation, &granted),
        PermissionModel::AccessPolicies => HashMap::new(),
    };
    let (mut allowed, mut blocked) = (Vec::new(), Vec::new());
    for mut principal in granted.into_values() {
        match blocked_map.get(&principal.id) {
            Some(denies) => {
                principal.blocked_by = denies.clone();
                blocked.push(principal);
            }
            None => allowed.push(principal),
        }
    }
    let allowed_ids: HashSet<&str> = allowed.iter().map(|p| p.id.as_str()).collect();
    let eligible = match (model, &inputs.eligible) {
        (PermissionModel::Rbac, Some(eligible)) => {
            let sources = role_sources(data, eligible, target, operation);
            expand(directory, &sources)
                .into_values()
                .filter(|principal| !allowed_ids.contains(principal.id.as_str()))
                .collect()
        }
        _ => Vec::new(),
    };
    OperationAccess {
        operation,
        allowed,
        blocked,
        eligible,
        groups: group_grants(directory, &sources),
    }
}

/// The control-plane actions that let a principal grant itself data access under `model`.
fn self_grant_actions(model: PermissionModel) -> &'static [&'static str] {
    match model {
        PermissionModel::AccessPolicies => &[
            "Microsoft.KeyVault/vaults/write",
            "Microsoft.KeyVault/vaults/accessPolicies/write",
        ],
        PermissionModel::Rbac => &["Microsoft.Authorization/roleAssignments/write"],
    }
}

fn self_granters(
    data: &VaultAccessData,
    directory: &Directory<'_>,
    model: PermissionModel,
) -> Vec<SelfGranter> {
    let mut found: Vec<SelfGranter> = Vec::new();
    // (principal, grant, group) already found: a set, since a broad role reaches thousands.
    let mut seen: HashSet<(String, String, Option<String>)> = HashSet::new();
    for assignment in &data.role_assignments {
        let level = data.scope_level(&assignment.properties.scope);
        // At or above the vault: an object-scoped or unrelated assignment grants nothing here.
        if matches!(level, ScopeLevel::Object { .. } | ScopeLevel::Elsewhere(_)) {
            continue;
        }
        let Some(role) = role_of(data, assignment) else {
            continue;
        };
        let Some(action) = self_grant_actions(model)
            .iter()
            .copied()
            .find(|action| allows_action(role, action))
        else {
            continue;
        };
        let grant = format!("{} at {}", role.properties.role_name, level.describe());
        for (id, via_group) in directory.reach(&assignment.properties.principal_id) {
            if directory.is_group(&id) {
                continue;
            }
            if !seen.insert((id.clone(), grant.clone(), via_group.clone())) {
                continue;
            }
            found.push(SelfGranter {
                name: directory.name(&id),
                kind: directory.kind(&id),
                id,
                action,
                path: AccessPath {
                    grant: grant.clone(),
                    via_group,
                },
            });
        }
    }
    found.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)));
    found
}

/// Who may perform `operation` (every operation of the target's type, or of all types for the vault,
/// when `None`) on `target`.
pub fn who_can(
    data: &VaultAccessData,
    inputs: &WhoCanInputs,
    target: &Target,
    operation: Option<Operation>,
) -> WhoCan {
    let model = data.model.unwrap_or(PermissionModel::AccessPolicies);
    let directory = Directory::new(data, inputs);
    let operations: Vec<Operation> = match (operation, target) {
        (Some(operation), _) => vec![operation],
        (None, Target::Object { object_type, .. }) => object_type.operations().to_vec(),
        (None, Target::Vault) => all_operations().collect(),
    };
    let mut caveats = data.gaps.clone();
    if model == PermissionModel::Rbac && data.deny_assignments.is_none() {
        caveats.push(
            "Deny assignments could not be read; one could still block someone listed as allowed."
                .to_owned(),
        );
    }
    if model == PermissionModel::Rbac
        && inputs.eligible.is_none()
        && !caveats
            .iter()
            .any(|caveat| caveat.starts_with("PIM eligibility"))
    {
        caveats.push(
            "PIM eligibility could not be read; eligible assignments are not shown.".to_owned(),
        );
    }
    let holders = data
        .access_policies
        .iter()
        .map(|policy| policy.object_id.as_str())
        .chain(
            data.role_assignments
                .iter()
                .map(|assignment| assignment.properties.principal_id.as_str()),
        );
    let mut unexpanded: Vec<String> = holders
        .filter(|id| directory.kind(id) == PrincipalKind::Group && directory.members(id).is_none())
        .map(|id| directory.name(id))
        .collect();
    unexpanded.sort();
    unexpanded.dedup();
    if !unexpanded.is_empty() {
        caveats.push(format!(
            "The members of {} could not be read; they are not listed one by one.",
            unexpanded.join(", ")
        ));
    }
    let conditional = data
        .role_assignments
        .iter()
        .filter(|assignment| assignment.properties.condition.is_some())
        .count();
    if model == PermissionModel::Rbac && conditional > 0 {
        caveats.push(format!(
            "{conditional} role assignment(s) carry an ABAC condition and are not counted."
        ));
    }
    WhoCan {
        model,
        target: target.clone(),
        operations: operations
            .into_iter()
            .map(|operation| answer_operation(data, inputs, &directory, model, target, operation))
            .collect(),
        self_granters: self_granters(data, &directory, model),
        caveats,
    }
}
