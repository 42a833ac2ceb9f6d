//! Pure evaluation of who may do what on a vault, and why. No I/O: inputs are models, outputs are verdicts.
//!
//! `operations` lists the data-plane operations with their access-policy and RBAC names, `evaluate` decides
//! per operation for one principal (policies, RBAC with groups and inheritance, deny assignments), and
//! `explain` words the answers. This file classifies a vault's permission model and network exposure.

pub mod consumers;
pub mod evaluate;
pub mod explain;
pub mod fix;
pub mod key_vault_references;
pub mod operations;
pub mod who_can;

pub use evaluate::{
    AccessEvaluation, DenyMatch, Grant, Holder, ScopeLevel, Subject, Target, VaultAccessData,
    Verdict, action_matches, evaluate,
};
pub use fix::{AccessFix, AccessRevocation};
pub use operations::{ObjectType, Operation};
pub use who_can::{WhoCan, WhoCanInputs, who_can};

use crate::azure::models::VaultProperties;

/// How a vault authorizes data-plane requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionModel {
    /// Azure RBAC role assignments (`enableRbacAuthorization: true`).
    Rbac,
    /// Vault access policies (`enableRbacAuthorization: false`, or absent on older vaults).
    AccessPolicies,
}

impl PermissionModel {
    /// Reads the model from vault properties. A missing flag means access policies: the flag predates
    /// RBAC and older vaults omit it (UNVERIFIED in the protocol reference; the Azure CLI shows such vaults as
    /// access-policy vaults).
    pub fn of(properties: &VaultProperties) -> Self {
        match properties.enable_rbac_authorization {
            Some(true) => Self::Rbac,
            _ => Self::AccessPolicies,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Rbac => "Azure RBAC",
            Self::AccessPolicies => "Access policies",
        }
    }
}

/// Whether the vault's firewall lets arbitrary clients in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkExposure {
    /// Public network access enabled and default action Allow.
    Open,
    /// Default action Deny: only listed IPs, virtual networks and (maybe) trusted services.
    Restricted,
    /// Public network access disabled: private endpoints only.
    PrivateOnly,
}

impl NetworkExposure {
    pub fn of(properties: &VaultProperties) -> Self {
        let public_disabled = properties
            .public_network_access
            .as_deref()
            .is_some_and(|value| value.eq_ignore_ascii_case("disabled"));
        let default_deny = properties
            .network_acls
            .as_ref()
            .and_then(|acls| acls.default_action.as_deref())
            .is_some_and(|action| action.eq_ignore_ascii_case("deny"));
        if public_disabled {
            Self::PrivateOnly
        } else if default_deny {
            Self::Restricted
        } else {
            Self::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::models::NetworkAcls;

    fn properties(
        rbac: Option<bool>,
        public: Option<&str>,
        default_action: Option<&str>,
    ) -> VaultProperties {
        VaultProperties {
            enable_rbac_authorization: rbac,
            public_network_access: public.map(str::to_owned),
            network_acls: default_action.map(|action| NetworkAcls {
                default_action: Some(action.to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn permission_model_cases() {
        let cases = [
            (Some(true), PermissionModel::Rbac),
            (Some(false), PermissionModel::AccessPolicies),
            (None, PermissionModel::AccessPolicies),
        ];
        for (flag, expect) in cases {
            assert_eq!(
                PermissionModel::of(&properties(flag, None, None)),
                expect,
                "{flag:?}"
            );
        }
    }

    #[test]
    fn network_exposure_cases() {
        let cases = [
            (None, None, NetworkExposure::Open),
            (Some("Enabled"), Some("Allow"), NetworkExposure::Open),
            (Some("enabled"), Some("Deny"), NetworkExposure::Restricted),
            (
                Some("Disabled"),
                Some("Allow"),
                NetworkExposure::PrivateOnly,
            ),
        ];
        for (public, action, expect) in cases {
            assert_eq!(
                NetworkExposure::of(&properties(None, public, action)),
                expect,
                "{public:?} {action:?}"
            );
        }
    }
}

#[cfg(test)]
mod evaluate_tests;
#[cfg(test)]
mod who_can_tests;
