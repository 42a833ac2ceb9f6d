//! The emulated App Service and Function apps (`Microsoft.Web/sites`): their identities, settings and the
//! platform's last resolution of each Key Vault reference. Like the platform, which re-reads references
//! about every 24 hours or on a config change, the statuses are worked out when the cloud is made (and by
//! `refresh_reference_statuses`), not on every read: an access change shows in them late.

use std::collections::BTreeMap;

use super::authz::{Caller, Operation, authorize};
use super::site_state::{ReferenceStatus, SiteState};
use super::state::{CloudState, ObjectKind};
use crate::access::key_vault_references::{KeyVaultReference, ReferencedVault, parse_reference};

impl SiteState {
    /// The object id the references resolve with, or the status that says why there is none.
    pub(super) fn reference_identity(&self, cloud: &CloudState) -> Result<String, &'static str> {
        match self.seed.key_vault_reference_identity.as_deref() {
            None | Some("SystemAssigned") => {
                self.seed.system_assigned.clone().ok_or("MSINotEnabled")
            }
            Some(resource_id) => {
                if !self
                    .seed
                    .user_assigned
                    .iter()
                    .any(|attached| attached.eq_ignore_ascii_case(resource_id))
                {
                    return Err("MSINotEnabled");
                }
                cloud
                    .user_assigned_principal(resource_id)
                    .map(|principal| principal.id.clone())
                    .ok_or("MSINotEnabled")
            }
        }
    }
}

impl CloudState {
    /// The managed-identity service principal of a user-assigned identity, by its resource id.
    pub fn user_assigned_principal(
        &self,
        resource_id: &str,
    ) -> Option<&super::seed::SeedServicePrincipal> {
        self.service_principals.iter().find(|principal| {
            principal
                .managed_identity
                .as_ref()
                .is_some_and(|identity| identity.resource_id.eq_ignore_ascii_case(resource_id))
        })
    }

    /// Resolves every app's references as the platform would now, except where the seed says the
    /// platform's last status is stale.
    pub fn refresh_reference_statuses(&mut self) {
        let mut sites = std::mem::take(&mut self.sites);
        for site in &mut sites {
            let mut statuses = BTreeMap::new();
            for collection in ["appsettings", "connectionstrings"] {
                for (setting, value) in site.values(collection) {
                    let Some(parsed) = parse_reference(&value) else {
                        continue;
                    };
                    let mut status = match parsed {
                        Ok(reference) => self.resolve(site, &reference, &value),
                        Err(_) => ReferenceStatus {
                            reference: value.clone(),
                            status: "InvalidSyntax".into(),
                            vault_name: String::new(),
                            secret_name: String::new(),
                            secret_version: String::new(),
                            details: "The reference could not be parsed.".into(),
                            active_version: None,
                        },
                    };
                    if let Some(stale) = site.seed.stale_reference_statuses.get(&setting) {
                        status.status = stale.clone();
                        status.details = String::new();
                    }
                    statuses.insert((collection, setting), status);
                }
            }
            site.statuses = statuses;
        }
        self.sites = sites;
    }

    fn resolve(
        &self,
        site: &SiteState,
        reference: &KeyVaultReference,
        text: &str,
    ) -> ReferenceStatus {
        let vault_name = match &reference.vault {
            ReferencedVault::Name(name) => name.clone(),
            ReferencedVault::Host(host) => host.split('.').next().unwrap_or_default().to_owned(),
        };
        let mut answer = ReferenceStatus {
            reference: text.to_owned(),
            status: String::new(),
            vault_name: vault_name.clone(),
            secret_name: reference.secret_name.clone(),
            secret_version: reference.version.clone().unwrap_or_default(),
            details: String::new(),
            active_version: None,
        };
        let status = self.resolution(site, reference, &vault_name);
        match status {
            Ok(version) => {
                answer.status = "Resolved".into();
                answer.active_version = Some(version);
            }
            Err(status) => {
                answer.status = status.into();
                answer.details = format!("Key Vault reference was not resolved: {status}.");
            }
        }
        answer
    }

    fn resolution(
        &self,
        site: &SiteState,
        reference: &KeyVaultReference,
        vault_name: &str,
    ) -> Result<String, &'static str> {
        let principal = site.reference_identity(self)?;
        let vault = self
            .vaults
            .get(&vault_name.to_ascii_lowercase())
            .ok_or("VaultNotFound")?;
        let caller = Caller {
            object_id: principal,
            tenant_id: site.tenant_id.clone(),
            app_id: None,
        };
        authorize(
            self,
            vault,
            &caller,
            ObjectKind::Secret,
            Operation::Get,
            Some(&reference.secret_name),
        )
        .map_err(|_| "AccessToKeyVaultDenied")?;
        let object = vault
            .objects(ObjectKind::Secret)
            .get(&reference.secret_name.to_ascii_lowercase())
            .ok_or("SecretNotFound")?;
        let version = match &reference.version {
            Some(version) => object.version(version).ok_or("SecretVersionNotFound")?,
            None => object.current().ok_or("SecretNotFound")?,
        };
        if !version.enabled {
            return Err("SecretVersionNotFound");
        }
        Ok(version.version.clone())
    }
}
