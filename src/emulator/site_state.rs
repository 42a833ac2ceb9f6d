//! The emulated App Service and Function apps' data (`Microsoft.Web/sites`): each app's seed, where it
//! lives, and the platform's last resolution of each of its Key Vault references (`sites.rs` works them out).

use std::collections::BTreeMap;

use super::seed::{SeedResourceGroup, SeedSite, SeedSubscription};

/// One app.
#[derive(Debug, Clone)]
pub struct SiteState {
    pub name: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
    pub tenant_id: String,
    pub seed: SeedSite,
    /// The platform's last status per reference: (`appsettings`|`connectionstrings`, setting) → status.
    pub statuses: BTreeMap<(&'static str, String), ReferenceStatus>,
}

/// What the platform last made of one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceStatus {
    pub reference: String,
    pub status: String,
    pub vault_name: String,
    pub secret_name: String,
    pub secret_version: String,
    pub details: String,
    pub active_version: Option<String>,
}

impl SiteState {
    pub fn from_seed(
        subscription: &SeedSubscription,
        group: &SeedResourceGroup,
        site: &SeedSite,
    ) -> Self {
        Self {
            name: site.name.clone(),
            subscription_id: subscription.id.clone(),
            resource_group: group.name.clone(),
            location: group.location.clone(),
            tenant_id: subscription.tenant_id.clone(),
            seed: site.clone(),
            statuses: BTreeMap::new(),
        }
    }

    pub fn arm_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Web/sites/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }

    /// Every setting value of one collection: `appsettings` or `connectionstrings`.
    pub fn values(&self, collection: &str) -> Vec<(String, String)> {
        match collection {
            "appsettings" => self
                .seed
                .app_settings
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            _ => self
                .seed
                .connection_strings
                .iter()
                .map(|(name, string)| (name.clone(), string.value.clone()))
                .collect(),
        }
    }
}
