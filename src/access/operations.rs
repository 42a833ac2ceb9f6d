//! The data-plane operations a principal may be granted, per object type: the access-policy permission
//! name and the RBAC data action each needs (Azure's `AcessPolicyRBACMapping.csv`, protocol reference §4).

use crate::azure::identifiers::ObjectKind;

/// Secrets, keys or certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectType {
    Secret,
    Key,
    Certificate,
}

impl From<ObjectKind> for ObjectType {
    fn from(kind: ObjectKind) -> Self {
        match kind {
            ObjectKind::Secret => Self::Secret,
            ObjectKind::Key => Self::Key,
            ObjectKind::Certificate => Self::Certificate,
        }
    }
}

impl ObjectType {
    pub const ALL: [ObjectType; 3] = [Self::Secret, Self::Key, Self::Certificate];

    /// The collection segment in URIs, policies and RBAC scopes (`secrets`).
    pub fn collection(self) -> &'static str {
        self.kind().collection()
    }

    /// Singular, for sentences and `az` flags (`secret`).
    pub fn singular(self) -> &'static str {
        self.kind().singular()
    }

    pub fn title(self) -> &'static str {
        self.kind().title()
    }

    /// The same kind as Key Vault identifiers name it.
    pub fn kind(self) -> ObjectKind {
        match self {
            Self::Secret => ObjectKind::Secret,
            Self::Key => ObjectKind::Key,
            Self::Certificate => ObjectKind::Certificate,
        }
    }

    /// Every operation of this type, in the order the Azure Portal lists access-policy permissions.
    pub fn operations(self) -> &'static [Operation] {
        match self {
            Self::Secret => SECRET_OPERATIONS,
            Self::Key => KEY_OPERATIONS,
            Self::Certificate => CERTIFICATE_OPERATIONS,
        }
    }
}

/// One data-plane operation on one object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Operation {
    pub object_type: ObjectType,
    /// What the explorer calls it (`get`, `list versions`); the permission name for all but
    /// `list versions`, which needs `list` but, unlike listing, is checked on the one object.
    pub name: &'static str,
    /// The access-policy permission name, lower case (`get`, `wrapkey`, `managecontacts`).
    pub permission: &'static str,
    /// The RBAC data action, without the `Microsoft.KeyVault/vaults/` prefix.
    data_action_suffix: &'static str,
    /// Whether it acts on the vault as a whole (list, restore, issuers, contacts), so an assignment scoped to
    /// a single object can never grant it.
    pub vault_wide: bool,
}

pub const DATA_ACTION_PREFIX: &str = "Microsoft.KeyVault/vaults/";

impl Operation {
    /// The full data action, e.g. `Microsoft.KeyVault/vaults/secrets/getSecret/action`.
    pub fn data_action(self) -> String {
        format!("{DATA_ACTION_PREFIX}{}", self.data_action_suffix)
    }

    /// The name shown in the UI (`wrapKey`, `list versions`).
    pub fn label(self) -> &'static str {
        match self.name {
            "wrapkey" => "wrapKey",
            "unwrapkey" => "unwrapKey",
            other => other,
        }
    }

    /// The name the Azure CLI and Portal show (`wrapKey`, `getrotationpolicy`), for `az` commands.
    pub fn cli_permission(self) -> &'static str {
        match self.permission {
            "wrapkey" => "wrapKey",
            "unwrapkey" => "unwrapKey",
            other => other,
        }
    }

    /// How much harm a grant of this operation can do, for choosing the least-privileged role: reading
    /// metadata 1, using or changing objects 3, deleting 4, purging 5, and reading a secret's value 10 (it
    /// hands over the secret itself), so `list` is fixed with Key Vault Reader, not Secrets User.
    pub fn sensitivity(self) -> u32 {
        match (self.object_type, self.permission) {
            (ObjectType::Secret, "get") => 10,
            (_, "get" | "list" | "getrotationpolicy" | "getissuers" | "listissuers") => 1,
            (_, "delete") => 4,
            (_, "purge" | "deleteissuers") => 5,
            _ => 3,
        }
    }

    /// Looks an operation up by object type and name (case-insensitive).
    pub fn find(object_type: ObjectType, name: &str) -> Option<Operation> {
        object_type
            .operations()
            .iter()
            .copied()
            .find(|operation| operation.name.eq_ignore_ascii_case(name))
    }
}

const fn op(
    object_type: ObjectType,
    permission: &'static str,
    data_action_suffix: &'static str,
    vault_wide: bool,
) -> Operation {
    Operation {
        object_type,
        name: permission,
        permission,
        data_action_suffix,
        vault_wide,
    }
}

use ObjectType::{Certificate as C, Key as K, Secret as S};

/// Listing one object's versions: the `list` permission, checked on that object (an assignment scoped to
/// the object grants it, unlike listing the vault).
const fn list_versions(object_type: ObjectType, data_action_suffix: &'static str) -> Operation {
    Operation {
        object_type,
        name: "list versions",
        permission: "list",
        data_action_suffix,
        vault_wide: false,
    }
}

const SECRET_OPERATIONS: &[Operation] = &[
    op(S, "get", "secrets/getSecret/action", false),
    op(S, "list", "secrets/readMetadata/action", true),
    list_versions(S, "secrets/readMetadata/action"),
    op(S, "set", "secrets/setSecret/action", false),
    op(S, "delete", "secrets/delete", false),
    op(S, "recover", "secrets/recover/action", false),
    op(S, "backup", "secrets/backup/action", false),
    op(S, "restore", "secrets/restore/action", true),
    op(S, "purge", "secrets/purge/action", false),
];

const KEY_OPERATIONS: &[Operation] = &[
    op(K, "get", "keys/read", false),
    op(K, "list", "keys/read", true),
    list_versions(K, "keys/read"),
    op(K, "update", "keys/update/action", false),
    op(K, "create", "keys/create/action", false),
    op(K, "import", "keys/import/action", false),
    op(K, "delete", "keys/delete", false),
    op(K, "recover", "keys/recover/action", false),
    op(K, "backup", "keys/backup/action", false),
    op(K, "restore", "keys/restore/action", true),
    op(K, "decrypt", "keys/decrypt/action", false),
    op(K, "encrypt", "keys/encrypt/action", false),
    op(K, "unwrapkey", "keys/unwrap/action", false),
    op(K, "wrapkey", "keys/wrap/action", false),
    op(K, "verify", "keys/verify/action", false),
    op(K, "sign", "keys/sign/action", false),
    op(K, "purge", "keys/purge/action", false),
    op(K, "release", "keys/release/action", false),
    op(K, "rotate", "keys/rotate/action", false),
    op(K, "getrotationpolicy", "keyrotationpolicies/read", false),
    op(K, "setrotationpolicy", "keyrotationpolicies/write", false),
];

const CERTIFICATE_OPERATIONS: &[Operation] = &[
    op(C, "get", "certificates/read", false),
    op(C, "list", "certificates/read", true),
    list_versions(C, "certificates/read"),
    op(C, "update", "certificates/update/action", false),
    op(C, "create", "certificates/create/action", false),
    op(C, "import", "certificates/import/action", false),
    op(C, "delete", "certificates/delete", false),
    op(C, "recover", "certificates/recover/action", false),
    op(C, "backup", "certificates/backup/action", false),
    op(C, "restore", "certificates/restore/action", true),
    op(C, "purge", "certificates/purge/action", false),
    op(C, "managecontacts", "certificatecontacts/write", true),
    op(C, "getissuers", "certificatecas/read", true),
    op(C, "listissuers", "certificatecas/read", true),
    op(C, "setissuers", "certificatecas/write", true),
    op(C, "manageissuers", "certificatecas/write", true),
    op(C, "deleteissuers", "certificatecas/delete", true),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_follows_the_published_table() {
        let cases = [
            (
                S,
                "get",
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            ),
            (
                S,
                "LIST",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ),
            (
                S,
                "set",
                "Microsoft.KeyVault/vaults/secrets/setSecret/action",
            ),
            (S, "delete", "Microsoft.KeyVault/vaults/secrets/delete"),
            (K, "get", "Microsoft.KeyVault/vaults/keys/read"),
            (K, "wrapKey", "Microsoft.KeyVault/vaults/keys/wrap/action"),
            (
                K,
                "setrotationpolicy",
                "Microsoft.KeyVault/vaults/keyrotationpolicies/write",
            ),
            (
                C,
                "managecontacts",
                "Microsoft.KeyVault/vaults/certificatecontacts/write",
            ),
            (
                C,
                "listissuers",
                "Microsoft.KeyVault/vaults/certificatecas/read",
            ),
            (
                C,
                "purge",
                "Microsoft.KeyVault/vaults/certificates/purge/action",
            ),
        ];
        for (object_type, permission, data_action) in cases {
            let operation = Operation::find(object_type, permission).expect(permission);
            assert_eq!(operation.data_action(), data_action, "{permission}");
        }
        assert!(Operation::find(S, "wrapkey").is_none());
        assert_eq!(SECRET_OPERATIONS.len(), 9);
        assert_eq!(KEY_OPERATIONS.len(), 21);
        assert_eq!(CERTIFICATE_OPERATIONS.len(), 17);
        let versions = Operation::find(S, "list versions").expect("list versions");
        assert_eq!((versions.permission, versions.vault_wide), ("list", false));
        assert_eq!(
            versions.data_action(),
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
        );
    }
}
