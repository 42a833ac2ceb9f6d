//! Pieces of Azure Resource Manager resource ids: a resource's name, its subscription scope, its resource
//! group.

/// The last segment of a resource id: a resource's name, or a role definition's GUID.
pub fn resource_name(resource_id: &str) -> &str {
    resource_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(resource_id)
}

/// `/subscriptions/{id}` of a resource id.
pub fn subscription_scope(resource_id: &str) -> Option<String> {
    let mut parts = resource_id.split('/').filter(|part| !part.is_empty());
    match (parts.next(), parts.next()) {
        (Some(word), Some(id)) if word.eq_ignore_ascii_case("subscriptions") => {
            Some(format!("/subscriptions/{id}"))
        }
        _ => None,
    }
}

/// The resource group segment of an ARM resource id.
pub fn resource_group_of(resource_id: &str) -> Option<&str> {
    let mut parts = resource_id.split('/');
    while let Some(part) = parts.next() {
        if part.eq_ignore_ascii_case("resourceGroups") {
            return parts.next();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_id_parts() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/";
        assert_eq!(resource_name(id), "kv1");
        assert_eq!(subscription_scope(id).as_deref(), Some("/subscriptions/s1"));
        assert_eq!(resource_group_of(id), Some("rg"));
        assert_eq!(
            subscription_scope("/providers/Microsoft.Management/managementGroups/m"),
            None
        );
    }
}
