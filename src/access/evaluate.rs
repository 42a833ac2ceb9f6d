//! The evaluator: a principal's effective data-plane permissions on one vault (or one object in it), with
//! every path that grants or blocks each operation. Pure: the worker gathers the inputs, this decides.
//!
//! Rules (protocol reference §4): access-policy vaults grant what any policy of the principal or one of its
//! transitive groups lists (`all` expanded); RBAC vaults add up `dataActions − notDataActions` of every role
//! assigned to the principal or its groups at the target scope or above, case-insensitive globs; a deny
//! assignment that matches wins; an assignment scoped to one object grants only on that object.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::fix::AccessFix;
use super::operations::{ObjectType, Operation};
use super::{NetworkExposure, PermissionModel};
use crate::azure::access_models::{
    AccessPolicyEntry, DenyAssignment, DirectoryObject, EVERYONE_PRINCIPAL_ID, PrincipalKind,
    RoleAssignment, RoleDefinition, RolePermission,
};
use crate::azure::resource_id::resource_group_of;

/// Everything known about who may do what on one vault.
#[derive(Debug, Clone, Default)]
pub struct VaultAccessData {
    pub vault_name: String,
    /// The vault's ARM resource id.
    pub arm_id: String,
    pub tenant_id: String,
    pub subscription_name: Option<String>,
    pub model: Option<PermissionModel>,
    pub network: Option<NetworkExposure>,
    pub access_policies: Vec<AccessPolicyEntry>,
    /// At, above and below the vault.
    pub role_assignments: Vec<RoleAssignment>,
    pub role_definitions: Vec<RoleDefinition>,
    /// `None` when they could not be read (no permission, or not served).
    pub deny_assignments: Option<Vec<DenyAssignment>>,
    /// Directory objects by lower-case object id, for names.
    pub directory: HashMap<String, DirectoryObject>,
    /// What could not be read, in words ("role assignments: HTTP 403 …").
    pub gaps: Vec<String>,
}

impl VaultAccessData {
    /// The name of a principal, or its id when the directory did not say.
    pub fn principal_name(&self, object_id: &str) -> String {
        self.directory
            .get(&object_id.to_ascii_lowercase())
            .map(DirectoryObject::name)
            .unwrap_or_else(|| object_id.to_owned())
    }

    pub fn principal_kind(&self, object_id: &str) -> PrincipalKind {
        self.directory
            .get(&object_id.to_ascii_lowercase())
            .map_or(PrincipalKind::Unknown, DirectoryObject::kind)
    }

    pub fn role(&self, guid: &str) -> Option<&RoleDefinition> {
        self.role_definitions
            .iter()
            .find(|role| role.guid().eq_ignore_ascii_case(guid))
    }

    /// Where an assignment scope sits relative to this vault.
    pub fn scope_level(&self, scope: &str) -> ScopeLevel {
        ScopeLevel::of(scope, &self.arm_id, self.subscription_name.as_deref())
    }
}

/// The principal being checked.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub principal: DirectoryObject,
    /// The principal's tenant when known (from token claims); else the vault's tenant is assumed.
    pub tenant_id: Option<String>,
    /// Transitive group memberships (object ids).
    pub group_ids: Vec<String>,
}

/// What to evaluate against: the vault, or one object in it (for object-scoped role assignments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Vault,
    Object {
        object_type: ObjectType,
        name: String,
    },
}

/// Where a role or deny assignment's scope lies, seen from the vault.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScopeLevel {
    ManagementGroup(String),
    Subscription(String),
    ResourceGroup(String),
    Vault,
    Object {
        object_type: String,
        name: String,
    },
    /// Unrelated to this vault (another vault, another resource group).
    Elsewhere(String),
}

impl ScopeLevel {
    fn of(scope: &str, vault_arm_id: &str, subscription_name: Option<&str>) -> Self {
        let scope = scope.trim_end_matches('/');
        let vault = vault_arm_id.trim_end_matches('/');
        let lower = scope.to_ascii_lowercase();
        let vault_lower = vault.to_ascii_lowercase();
        if lower == vault_lower {
            return Self::Vault;
        }
        if let Some(rest) = lower.strip_prefix(&format!("{vault_lower}/")) {
            let original = &scope[scope.len() - rest.len()..];
            let mut parts = original.splitn(2, '/');
            let object_type = parts.next().unwrap_or_default().to_owned();
            let name = parts.next().unwrap_or_default().to_owned();
            return Self::Object { object_type, name };
        }
        let parts: Vec<&str> = scope.split('/').filter(|part| !part.is_empty()).collect();
        let covers = vault_lower.starts_with(&format!("{lower}/"));
        match parts.as_slice() {
            ["providers", provider, "managementGroups", name]
                if provider.eq_ignore_ascii_case("Microsoft.Management") =>
            {
                // ARM returns management-group assignments for a vault only when the vault lies below them.
                Self::ManagementGroup((*name).to_owned())
            }
            [subscriptions, id]
                if subscriptions.eq_ignore_ascii_case("subscriptions") && covers =>
            {
                Self::Subscription(subscription_name.unwrap_or(id).to_owned())
            }
            [subscriptions, _, groups, name]
                if subscriptions.eq_ignore_ascii_case("subscriptions")
                    && groups.eq_ignore_ascii_case("resourceGroups")
                    && covers =>
            {
                Self::ResourceGroup((*name).to_owned())
            }
            _ => Self::Elsewhere(scope.to_owned()),
        }
    }

    /// Words for explanations: "resource group rg-prod-app".
    pub fn describe(&self) -> String {
        match self {
            Self::ManagementGroup(name) => format!("management group {name}"),
            Self::Subscription(name) => format!("subscription {name}"),
            Self::ResourceGroup(name) => format!("resource group {name}"),
            Self::Vault => "this vault".to_owned(),
            Self::Object { object_type, name } => {
                format!("{} {name} only", object_type.trim_end_matches('s'))
            }
            Self::Elsewhere(scope) => format!("scope {scope}"),
        }
    }

    /// Whether an assignment at this level applies to `target` (an object target sees object levels for it).
    pub(super) fn covers(&self, target: &Target, operation: Operation) -> bool {
        match self {
            Self::ManagementGroup(_)
            | Self::Subscription(_)
            | Self::ResourceGroup(_)
            | Self::Vault => true,
            Self::Object { object_type, name } => match target {
                Target::Object {
                    object_type: target_type,
                    name: target_name,
                } => {
                    !operation.vault_wide
                        && *target_type == operation.object_type
                        && object_type.eq_ignore_ascii_case(target_type.collection())
                        && name.eq_ignore_ascii_case(target_name)
                }
                Target::Vault => false,
            },
            Self::Elsewhere(_) => false,
        }
    }
}

/// How the principal relates to the identity a policy or assignment names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// The principal itself.
    Direct,
    /// A group the principal belongs to (transitively).
    Group { object_id: String, name: String },
    /// A deny assignment's "everyone".
    Everyone,
}

/// One path that grants an operation. Shared (`Arc`): one role assignment usually grants many operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Role(Arc<RoleGrant>),
    Policy(Arc<PolicyGrant>),
}

/// A role assignment that grants: which role, to whom, at which level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    pub role_name: String,
    pub holder: Holder,
    pub level: ScopeLevel,
    /// The assignment's full id (what a revocation deletes).
    pub assignment_id: String,
}

/// An access policy that grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyGrant {
    pub holder: Holder,
    /// The policy's permissions for this object type, as written.
    pub permissions: Vec<String>,
}

/// A deny assignment that blocks an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyMatch {
    pub name: String,
    pub holder: Holder,
    pub level: ScopeLevel,
}

/// The answer for one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub operation: Operation,
    pub allowed: bool,
    pub grants: Vec<Grant>,
    pub denied_by: Vec<DenyMatch>,
    /// Facts that matter for the answer but do not decide it (object-only grants, excluded actions,
    /// conditions, compound identities).
    pub notes: Vec<String>,
    /// The least-privilege fix for a denied operation.
    pub fix: Option<AccessFix>,
    /// Decided by access policies (else by Azure RBAC): the denial names the policy permission.
    pub by_policy: bool,
}

/// The whole answer for one principal on one vault.
#[derive(Debug, Clone)]
pub struct AccessEvaluation {
    pub principal: DirectoryObject,
    pub model: PermissionModel,
    pub target: Target,
    pub verdicts: Vec<Verdict>,
    /// Caveats about the whole answer: network rules, unreadable inputs.
    pub caveats: Vec<String>,
}

impl AccessEvaluation {
    pub fn verdict(&self, object_type: ObjectType, permission: &str) -> Option<&Verdict> {
        self.verdicts.iter().find(|verdict| {
            verdict.operation.object_type == object_type
                && verdict.operation.name.eq_ignore_ascii_case(permission)
        })
    }
}

/// Case-insensitive glob: `*` matches any run of characters, `/` included.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.as_bytes();
    let action = action.as_bytes();
    let (mut p, mut a) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while a < action.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            backtrack = Some((p, a));
            p += 1;
        } else if p < pattern.len() && pattern[p].eq_ignore_ascii_case(&action[a]) {
            p += 1;
            a += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            a = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// What one permission block says about a data action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockAnswer {
    Grants,
    /// Matched by `dataActions` but removed by `notDataActions`.
    Excluded,
    Silent,
}

fn block_answer(permission: &RolePermission, data_action: &str) -> BlockAnswer {
    if !permission
        .data_actions
        .iter()
        .any(|pattern| action_matches(pattern, data_action))
    {
        return BlockAnswer::Silent;
    }
    if permission
        .not_data_actions
        .iter()
        .any(|pattern| action_matches(pattern, data_action))
    {
        BlockAnswer::Excluded
    } else {
        BlockAnswer::Grants
    }
}

/// Per role: which operations it grants and which it names but excludes, as bit sets over the index of
/// `all_operations()` (47 < 64). Computed once per role, so the per-assignment work is a bit test.
struct RoleProfile<'a> {
    role: &'a RoleDefinition,
    grants: u64,
    excludes: u64,
    /// The sum of `Operation::sensitivity` over what it grants, plus the weight of its control-plane
    /// `actions`: lower is less privileged.
    privilege: u32,
    /// Whether its `actions` allow any control-plane write (a vault, its policies, role assignments,
    /// anything with `*`): never suggested when a role without them grants the operation.
    control_plane_writes: bool,
}

/// Control-plane actions that tell how much a role can change, with their weight: granting access
/// (role assignments, access policies) outweighs every data operation; `*` reaches all of them.
const CONTROL_PLANE_PROBES: &[(&str, u32)] = &[
    ("Microsoft.Authorization/roleAssignments/write", 10_000),
    ("Microsoft.Authorization/roleDefinitions/write", 5_000),
    ("Microsoft.KeyVault/vaults/accessPolicies/write", 5_000),
    ("Microsoft.KeyVault/vaults/write", 2_000),
    ("Microsoft.KeyVault/vaults/delete", 2_000),
    ("Microsoft.Resources/deployments/write", 500),
    ("Microsoft.Compute/virtualMachines/write", 500),
];

/// Whether one of the role's blocks allows `action` (in `actions`, not in `notActions`).
pub(super) fn allows_action(role: &RoleDefinition, action: &str) -> bool {
    role.properties.permissions.iter().any(|block| {
        block
            .actions
            .iter()
            .any(|pattern| action_matches(pattern, action))
            && !block
                .not_actions
                .iter()
                .any(|pattern| action_matches(pattern, action))
    })
}

/// Whether `role` may be assigned at `scope`: one of its assignable scopes is `scope` or above it (no
/// list means a built-in role, assignable anywhere).
fn assignable_at(role: &RoleDefinition, scope: &str) -> bool {
    let scopes = &role.properties.assignable_scopes;
    let scope = scope.trim_end_matches('/').to_ascii_lowercase();
    scopes.is_empty()
        || scopes.iter().any(|assignable| {
            let assignable = assignable.trim_end_matches('/').to_ascii_lowercase();
            assignable.is_empty()
                || scope == assignable
                || scope.starts_with(&format!("{assignable}/"))
        })
}

pub(super) fn all_operations() -> impl Iterator<Item = Operation> {
    ObjectType::ALL
        .into_iter()
        .flat_map(|object_type| object_type.operations().iter().copied())
}

fn profile(role: &RoleDefinition) -> RoleProfile<'_> {
    let mut grants = 0u64;
    let mut excludes = 0u64;
    for (index, operation) in all_operations().enumerate() {
        let action = operation.data_action();
        let answers: Vec<BlockAnswer> = role
            .properties
            .permissions
            .iter()
            .map(|block| block_answer(block, &action))
            .collect();
        if answers.contains(&BlockAnswer::Grants) {
            grants |= 1 << index;
        } else if answers.contains(&BlockAnswer::Excluded) {
            excludes |= 1 << index;
        }
    }
    let data_privilege: u32 = all_operations()
        .enumerate()
        .filter(|(index, _)| grants & (1 << index) != 0)
        .map(|(_, operation)| operation.sensitivity())
        .sum();
    let control: Vec<u32> = CONTROL_PLANE_PROBES
        .iter()
        .filter(|(action, _)| allows_action(role, action))
        .map(|(_, weight)| *weight)
        .collect();
    RoleProfile {
        role,
        grants,
        excludes,
        privilege: data_privilege + control.iter().sum::<u32>(),
        control_plane_writes: !control.is_empty(),
    }
}

/// Whether one of the role's blocks grants `data_action` (in `dataActions`, not in `notDataActions`).
pub(super) fn role_grants_data_action(role: &RoleDefinition, data_action: &str) -> bool {
    role.properties
        .permissions
        .iter()
        .any(|block| block_answer(block, data_action) == BlockAnswer::Grants)
}

pub(super) fn deny_blocks(deny: &DenyAssignment, data_action: &str) -> bool {
    deny.properties
        .permissions
        .iter()
        .any(|block| block_answer(block, data_action) == BlockAnswer::Grants)
}

/// Evaluates every operation of every object type for `subject` on the vault described by `data`.
pub fn evaluate(data: &VaultAccessData, subject: &Subject, target: &Target) -> AccessEvaluation {
    let principal_id = subject.principal.id.to_ascii_lowercase();
    let groups: HashSet<String> = subject
        .group_ids
        .iter()
        .map(|id| id.to_ascii_lowercase())
        .collect();
    let holder_of = |object_id: &str| -> Option<Holder> {
        let lower = object_id.to_ascii_lowercase();
        if lower == principal_id {
            Some(Holder::Direct)
        } else if groups.contains(&lower) {
            Some(Holder::Group {
                name: data.principal_name(object_id),
                object_id: lower,
            })
        } else {
            None
        }
    };
    let model = data.model.unwrap_or(PermissionModel::AccessPolicies);
    let mut caveats = caveats(data, model);
    let verdicts = match model {
        PermissionModel::AccessPolicies => {
            evaluate_policies(data, subject, &holder_of, &mut caveats)
        }
        PermissionModel::Rbac => evaluate_rbac(data, subject, target, &holder_of, &mut caveats),
    };
    AccessEvaluation {
        principal: subject.principal.clone(),
        model,
        target: target.clone(),
        verdicts,
        caveats,
    }
}

fn caveats(data: &VaultAccessData, model: PermissionModel) -> Vec<String> {
    let mut caveats = Vec::new();
    match data.network {
        Some(NetworkExposure::Restricted) => caveats.push(
            "The vault's firewall denies by default: calls succeed only from allowed IP ranges or virtual \
             networks (or trusted services), whatever the permissions below say."
                .to_owned(),
        ),
        Some(NetworkExposure::PrivateOnly) => caveats.push(
            "Public network access is disabled: calls succeed only through a private endpoint, whatever \
             the permissions below say."
                .to_owned(),
        ),
        Some(NetworkExposure::Open) | None => {}
    }
    if model == PermissionModel::Rbac && data.deny_assignments.is_none() {
        caveats.push(
            "Deny assignments could not be read; one could still block an operation shown as allowed."
                .to_owned(),
        );
    }
    caveats.extend(data.gaps.iter().cloned());
    caveats
}

fn evaluate_policies(
    data: &VaultAccessData,
    subject: &Subject,
    holder_of: &dyn Fn(&str) -> Option<Holder>,
    caveats: &mut Vec<String>,
) -> Vec<Verdict> {
    let tenant = subject
        .tenant_id
        .as_deref()
        .unwrap_or(data.tenant_id.as_str());
    // (holder, policy) pairs that apply, and notes about policies that look like they should but do not.
    let mut applicable: Vec<(Holder, &AccessPolicyEntry)> = Vec::new();
    for policy in &data.access_policies {
        let Some(holder) = holder_of(&policy.object_id) else {
            continue;
        };
        if !policy.tenant_id.is_empty() && !policy.tenant_id.eq_ignore_ascii_case(tenant) {
            caveats.push(format!(
                "The access policy for {} names tenant {}, not {tenant}; it does not apply.",
                data.principal_name(&policy.object_id),
                policy.tenant_id
            ));
            continue;
        }
        if let Some(application) = policy
            .application_id
            .as_deref()
            .filter(|app| !app.is_empty())
        {
            caveats.push(format!(
                "The access policy for {} is a compound identity with application {application}: it applies \
                 only when that application acts on the principal's behalf, so it is not counted.",
                data.principal_name(&policy.object_id)
            ));
            continue;
        }
        applicable.push((holder, policy));
    }
    all_operations()
        .map(|operation| {
            let grants: Vec<Grant> = applicable
                .iter()
                .filter_map(|(holder, policy)| {
                    let listed = policy_permissions(policy, operation.object_type);
                    listed
                        .iter()
                        .any(|granted| {
                            granted.eq_ignore_ascii_case(operation.permission)
                                || granted.eq_ignore_ascii_case("all")
                        })
                        .then(|| {
                            Grant::Policy(Arc::new(PolicyGrant {
                                holder: holder.clone(),
                                permissions: listed.to_vec(),
                            }))
                        })
                })
                .collect();
            let allowed = !grants.is_empty();
            let fix = (!allowed).then(|| policy_fix(data, subject, operation));
            Verdict {
                operation,
                allowed,
                grants,
                denied_by: Vec::new(),
                notes: Vec::new(),
                fix,
                by_policy: true,
            }
        })
        .collect()
}

pub(super) fn policy_permissions(policy: &AccessPolicyEntry, object_type: ObjectType) -> &[String] {
    match object_type {
        ObjectType::Secret => &policy.permissions.secrets,
        ObjectType::Key => &policy.permissions.keys,
        ObjectType::Certificate => &policy.permissions.certificates,
    }
}

/// An access-policy `add` for the principal itself: its own permissions of that type now, and the same
/// with the missing one (so the `az keyvault set-policy` equivalent, which replaces that type's list, keeps
/// them too).
fn policy_fix(data: &VaultAccessData, subject: &Subject, operation: Operation) -> AccessFix {
    let mut before: Vec<String> = data
        .access_policies
        .iter()
        .filter(|policy| {
            policy.object_id.eq_ignore_ascii_case(&subject.principal.id)
                && policy.application_id.as_deref().unwrap_or("").is_empty()
        })
        .flat_map(|policy| policy_permissions(policy, operation.object_type).iter())
        .map(|permission| {
            Operation::find(operation.object_type, permission).map_or_else(
                || permission.to_ascii_lowercase(),
                |op| op.cli_permission().to_owned(),
            )
        })
        .collect();
    before.sort();
    before.dedup();
    let mut after = before.clone();
    after.push(operation.cli_permission().to_owned());
    after.sort();
    after.dedup();
    AccessFix::Policy {
        vault_name: data.vault_name.clone(),
        resource_group: resource_group_of(&data.arm_id).map(str::to_owned),
        vault_arm_id: data.arm_id.clone(),
        tenant_id: data.tenant_id.clone(),
        object_id: subject.principal.id.clone(),
        principal_name: subject.principal.name(),
        object_type: operation.object_type,
        before,
        after,
    }
}

/// One of the principal's role assignments that touches this vault, with its level and the role's profile.
type RelevantAssignment<'a> = (Arc<RoleGrant>, &'a RoleAssignment, &'a RoleProfile<'a>);

fn evaluate_rbac(
    data: &VaultAccessData,
    subject: &Subject,
    target: &Target,
    holder_of: &dyn Fn(&str) -> Option<Holder>,
    caveats: &mut Vec<String>,
) -> Vec<Verdict> {
    let profiles: HashMap<String, RoleProfile<'_>> = data
        .role_definitions
        .iter()
        .map(|role| (role.guid(), profile(role)))
        .collect();
    let relevant = relevant_assignments(data, &profiles, holder_of, caveats);
    let denies: Vec<(Holder, ScopeLevel, &DenyAssignment)> = data
        .deny_assignments
        .iter()
        .flatten()
        .filter_map(|deny| {
            let level = data.scope_level(&deny.properties.scope);
            let holder = deny_holder(deny, holder_of)?;
            Some((holder, level, deny))
        })
        .collect();
    // Only roles that may be assigned here; least privilege first: no control-plane writes before any,
    // then what the role grants weighted by harm (data operations and control-plane actions); built-in
    // roles before custom ones; then by name, for a stable answer.
    let mut least_privileged: Vec<&RoleProfile<'_>> = profiles
        .values()
        .filter(|profile| assignable_at(profile.role, &data.arm_id))
        .collect();
    least_privileged.sort_by_key(|profile| {
        (
            profile.control_plane_writes,
            profile.privilege,
            profile.role.properties.role_type.as_deref() != Some("BuiltInRole"),
            profile.role.properties.role_name.clone(),
        )
    });

    all_operations()
        .enumerate()
        .map(|(index, operation)| {
            let bit = 1u64 << index;
            let (grants, notes) = role_grants(&relevant, target, operation, bit);
            let data_action = operation.data_action();
            let denied_by: Vec<DenyMatch> = denies
                .iter()
                .filter(|(_, level, deny)| {
                    deny_covers(level, deny, target, operation) && deny_blocks(deny, &data_action)
                })
                .map(|(holder, level, deny)| DenyMatch {
                    name: deny.properties.deny_assignment_name.clone(),
                    holder: holder.clone(),
                    level: level.clone(),
                })
                .collect();
            let allowed = !grants.is_empty() && denied_by.is_empty();
            let fix = if allowed || !denied_by.is_empty() {
                None
            } else {
                least_privileged
                    .iter()
                    .find(|profile| profile.grants & bit != 0)
                    .map(|profile| role_fix(data, subject, target, operation, profile.role))
            };
            Verdict {
                operation,
                allowed,
                grants,
                denied_by,
                notes,
                fix,
                by_policy: false,
            }
        })
        .collect()
}

/// The principal's assignments (direct or through a group) at, above or below the vault; computed once.
/// A role whose definition could not be read becomes a caveat.
fn relevant_assignments<'a>(
    data: &'a VaultAccessData,
    profiles: &'a HashMap<String, RoleProfile<'a>>,
    holder_of: &dyn Fn(&str) -> Option<Holder>,
    caveats: &mut Vec<String>,
) -> Vec<RelevantAssignment<'a>> {
    let mut relevant = Vec::new();
    let mut unknown_roles: HashSet<String> = HashSet::new();
    for assignment in &data.role_assignments {
        let Some(holder) = holder_of(&assignment.properties.principal_id) else {
            continue;
        };
        let level = data.scope_level(&assignment.properties.scope);
        if matches!(level, ScopeLevel::Elsewhere(_)) {
            continue;
        }
        let Some(profile) = profiles.get(&assignment.role_guid()) else {
            unknown_roles.insert(assignment.role_guid());
            continue;
        };
        let grant = Arc::new(RoleGrant {
            role_name: profile.role.properties.role_name.clone(),
            holder,
            level,
            assignment_id: assignment.id.clone(),
        });
        relevant.push((grant, assignment, profile));
    }
    for guid in unknown_roles {
        caveats.push(format!(
            "Role definition {guid} could not be read, so what it grants is not counted."
        ));
    }
    relevant
}

/// The role grants of one operation (`bit` in the roles' profiles), and notes on those that do not count:
/// a condition, a notDataActions exclusion, a grant on another object.
fn role_grants(
    relevant: &[RelevantAssignment<'_>],
    target: &Target,
    operation: Operation,
    bit: u64,
) -> (Vec<Grant>, Vec<String>) {
    let mut grants = Vec::new();
    let mut notes = Vec::new();
    for (grant, assignment, profile) in relevant {
        let (role_name, holder, level) = (&grant.role_name, &grant.holder, &grant.level);
        let grants_operation = profile.grants & bit != 0;
        if grants_operation && assignment.properties.condition.is_some() {
            notes.push(format!(
                "{role_name} at {} has a condition that Vaultscope does not evaluate; not counted.",
                level.describe()
            ));
            continue;
        }
        if level.covers(target, operation) {
            if grants_operation {
                grants.push(Grant::Role(grant.clone()));
            } else if profile.excludes & bit != 0 {
                notes.push(format!(
                    "{role_name} ({}) covers {} but excludes it through notDataActions.",
                    describe_holder_short(holder),
                    operation.data_action()
                ));
            }
        } else if grants_operation
            && let ScopeLevel::Object { .. } = level
            && !operation.vault_wide
        {
            notes.push(format!(
                "Granted on {} by {role_name} ({}); pick that object to check it.",
                level.describe().trim_end_matches(" only"),
                describe_holder_short(holder)
            ));
        }
    }
    (grants, notes)
}

fn deny_holder(
    deny: &DenyAssignment,
    holder_of: &dyn Fn(&str) -> Option<Holder>,
) -> Option<Holder> {
    if deny
        .properties
        .exclude_principals
        .iter()
        .any(|excluded| holder_of(&excluded.id).is_some())
    {
        return None;
    }
    deny.properties.principals.iter().find_map(|principal| {
        if principal.id == EVERYONE_PRINCIPAL_ID {
            Some(Holder::Everyone)
        } else {
            holder_of(&principal.id)
        }
    })
}

pub(super) fn deny_covers(
    level: &ScopeLevel,
    deny: &DenyAssignment,
    target: &Target,
    operation: Operation,
) -> bool {
    if !deny.properties.do_not_apply_to_child_scopes {
        return level.covers(target, operation);
    }
    // Only the exact scope: the vault itself, or the very object checked.
    match (level, target) {
        (ScopeLevel::Vault, Target::Vault) => true,
        (ScopeLevel::Vault, Target::Object { .. }) => operation.vault_wide,
        (ScopeLevel::Object { .. }, _) => level.covers(target, operation),
        _ => false,
    }
}

fn role_fix(
    data: &VaultAccessData,
    subject: &Subject,
    target: &Target,
    operation: Operation,
    role: &RoleDefinition,
) -> AccessFix {
    let scope = match target {
        Target::Object { object_type, name } if !operation.vault_wide => {
            format!("{}/{}/{name}", data.arm_id, object_type.collection())
        }
        _ => data.arm_id.clone(),
    };
    AccessFix::Role {
        scope,
        role_definition_id: role.id.clone(),
        role_name: role.properties.role_name.clone(),
        principal_id: subject.principal.id.clone(),
        principal_name: subject.principal.name(),
        principal_type: subject.principal.kind().az_principal_type(),
        operation: super::fix::operation_words(operation),
    }
}

fn describe_holder_short(holder: &Holder) -> String {
    match holder {
        Holder::Direct => "assigned directly".to_owned(),
        Holder::Group { name, .. } => format!("via group {name}"),
        Holder::Everyone => "everyone".to_owned(),
    }
}
