//! Sentences for the evaluator's answers: which path grants an operation, what blocks it, and a one-line
//! summary per verdict, as the access view and the 403 help show them.

use super::evaluate::{AccessEvaluation, DenyMatch, Grant, Holder, Verdict};

impl Holder {
    /// "assigned to group Ops On-Call", "assigned to Ada Operator directly".
    fn assigned(&self, principal_name: &str) -> String {
        match self {
            Self::Direct => format!("assigned to {principal_name} directly"),
            Self::Group { name, .. } => format!("assigned to group {name}"),
            Self::Everyone => "assigned to everyone".to_owned(),
        }
    }
}

impl Grant {
    /// "Key Vault Secrets User, assigned to group Ops at resource group rg-prod";
    /// "access policy for SecurityFunctions: get, list".
    pub fn describe(&self, principal_name: &str) -> String {
        match self {
            Self::Role(role) => format!(
                "{}, {} at {}",
                role.role_name,
                role.holder.assigned(principal_name),
                role.level.describe()
            ),
            Self::Policy(policy) => {
                let permissions = &policy.permissions;
                let owner = match &policy.holder {
                    Holder::Direct | Holder::Everyone => principal_name.to_owned(),
                    Holder::Group { name, .. } => format!("group {name}"),
                };
                let listed = if permissions.is_empty() {
                    "(none)".to_owned()
                } else {
                    permissions.join(", ")
                };
                format!("access policy for {owner}: {listed}")
            }
        }
    }
}

impl DenyMatch {
    pub fn describe(&self, principal_name: &str) -> String {
        let applies = match &self.holder {
            Holder::Direct => format!("to {principal_name}"),
            Holder::Group { name, .. } => format!("to group {name}"),
            Holder::Everyone => "to everyone".to_owned(),
        };
        format!(
            "deny assignment '{}' {applies} at {}",
            self.name,
            self.level.describe()
        )
    }
}

impl Verdict {
    /// One line: why it is allowed or denied.
    pub fn explanation(&self, principal_name: &str) -> String {
        if let Some(deny) = self.denied_by.first() {
            return format!("Blocked by {}", deny.describe(principal_name));
        }
        if self.allowed {
            let paths: Vec<String> = self
                .grants
                .iter()
                .map(|grant| grant.describe(principal_name))
                .collect();
            return format!("Granted by {}", paths.join("; "));
        }
        match self.grants.first() {
            // Granted somewhere but not here (should not happen without a deny); kept for completeness.
            Some(grant) => format!("Not effective: {}", grant.describe(principal_name)),
            None if self.by_policy => format!(
                "No access policy gives {principal_name} or its groups {} `{}`",
                self.operation.object_type.singular(),
                self.operation.cli_permission()
            ),
            None => format!(
                "Nothing grants {} to {principal_name} or its groups",
                self.operation.data_action()
            ),
        }
    }
}

impl AccessEvaluation {
    /// The name used in explanations.
    pub fn principal_name(&self) -> String {
        self.principal.name()
    }

    /// "3 of 9 secret operations allowed".
    pub fn summary(&self, object_type: super::ObjectType) -> String {
        let of_type: Vec<&Verdict> = self
            .verdicts
            .iter()
            .filter(|verdict| verdict.operation.object_type == object_type)
            .collect();
        let allowed = of_type.iter().filter(|verdict| verdict.allowed).count();
        format!(
            "{allowed} of {} {} operations allowed",
            of_type.len(),
            object_type.singular()
        )
    }
}
