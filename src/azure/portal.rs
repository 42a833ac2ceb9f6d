//! Deep links into the Azure Portal, in the Portal's own forms: a vault's blade by its ARM id
//! (`#@{tenant}/resource{arm id}/overview`), and a secret's, key's or certificate's blade by its Key Vault
//! identifier (`#@{tenant}/asset/Microsoft_Azure_KeyVault/{Secret|Key|Certificate}/{identifier}`, versioned
//! or not), which is how the Portal itself links them. The tenant (id or domain) makes the Portal open the
//! right directory for a guest or a multi-tenant operator.

use super::identifiers::{ObjectId, ObjectKind};

/// The Portal link of a vault (`portal` is the cloud's Portal, e.g. `https://portal.azure.com`).
pub fn vault_link(portal: &str, tenant: Option<&str>, vault_arm_id: &str) -> String {
    let arm_id = if vault_arm_id.starts_with('/') {
        vault_arm_id.to_owned()
    } else {
        format!("/{vault_arm_id}")
    };
    format!(
        "{}/#{}resource{arm_id}/overview",
        portal.trim_end_matches('/'),
        directory(tenant)
    )
}

/// The Portal link of a secret, key or certificate (the given version, or the object when versionless).
pub fn object_link(portal: &str, tenant: Option<&str>, id: &ObjectId) -> String {
    let asset = match id.kind {
        ObjectKind::Secret => "Secret",
        ObjectKind::Key => "Key",
        ObjectKind::Certificate => "Certificate",
    };
    format!(
        "{}/#{}asset/Microsoft_Azure_KeyVault/{asset}/{}",
        portal.trim_end_matches('/'),
        directory(tenant),
        id.versioned()
    )
}

/// `@{tenant}/`, or nothing when the tenant is not known (the Portal opens the default directory).
fn directory(tenant: Option<&str>) -> String {
    match tenant.filter(|tenant| !tenant.is_empty()) {
        Some(tenant) => format!("@{tenant}/"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_take_the_portals_own_forms() {
        assert_eq!(
            vault_link(
                "https://portal.azure.com",
                Some("contoso.onmicrosoft.com"),
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"
            ),
            "https://portal.azure.com/#@contoso.onmicrosoft.com/resource/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/overview"
        );
        let secret = ObjectId::parse("https://kv1.vault.azure.net/secrets/api-key").expect("id");
        assert_eq!(
            object_link("https://portal.azure.com/", Some("t1"), &secret),
            "https://portal.azure.com/#@t1/asset/Microsoft_Azure_KeyVault/Secret/https://kv1.vault.azure.net/secrets/api-key"
        );
        let key = ObjectId::parse("https://kv1.vault.azure.cn/keys/signing/0123abcd").expect("id");
        assert_eq!(
            object_link("https://portal.azure.cn", None, &key),
            "https://portal.azure.cn/#asset/Microsoft_Azure_KeyVault/Key/https://kv1.vault.azure.cn/keys/signing/0123abcd"
        );
        let certificate =
            ObjectId::parse("https://kv1.vault.usgovcloudapi.net/certificates/web").expect("id");
        assert!(
            object_link("https://portal.azure.us", Some("t"), &certificate)
                .ends_with("/asset/Microsoft_Azure_KeyVault/Certificate/https://kv1.vault.usgovcloudapi.net/certificates/web")
        );
    }
}
