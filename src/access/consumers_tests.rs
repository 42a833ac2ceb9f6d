//! Tests of joining app references with verdicts: identities, disagreement with the platform, and which
//! consumers a delete, a disable or a revocation breaks.

use std::collections::HashMap;

use super::*;
use crate::access::key_vault_references::parse_reference;

fn app(reference_identity: Option<&str>) -> WebApp {
    WebApp {
        id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/orders-api".into(),
        name: "orders-api".into(),
        kind: "app,linux".into(),
        system_principal_id: Some("sys-oid".into()),
        user_assigned: vec![AttachedIdentity {
            resource_id: "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orders".into(),
            principal_id: Some("uai-oid".into()),
        }],
        reference_identity: ReferenceIdentitySetting::from_property(reference_identity),
    }
}

fn consumer(
    secret: &str,
    version: Option<&str>,
    allowed: Option<bool>,
    status: Option<&str>,
) -> SecretConsumer {
    SecretConsumer {
        app_id: "app".into(),
        app_name: "orders-api".into(),
        app_kind: "App Service app",
        setting: format!("{secret}-setting"),
        setting_kind: SettingKind::AppSetting,
        secret_name: secret.into(),
        version: version.map(str::to_owned),
        identity: ConsumerIdentity {
            label: "system-assigned identity".into(),
            principal_id: Some("sys-oid".into()),
            missing: None,
        },
        access: match allowed {
            Some(true) => ConsumerAccess::Allowed {
                path: "Granted by x".into(),
            },
            Some(false) => ConsumerAccess::Denied {
                why: "Nothing grants".into(),
                fix: None,
            },
            None => ConsumerAccess::Unknown { why: "?".into() },
        },
        platform: status.map(|status| PlatformStatus {
            status: status.into(),
            details: None,
        }),
    }
}

#[test]
fn the_reference_identity_is_the_system_one_or_the_named_user_assigned_one() {
    assert_eq!(
        app(None).reference_identity().principal_id.as_deref(),
        Some("sys-oid")
    );
    assert_eq!(
        app(Some("SystemAssigned"))
            .reference_identity()
            .principal_id
            .as_deref(),
        Some("sys-oid")
    );
    // Compared case-insensitively: ARM keeps the casing each side was written in.
    let user = app(Some(
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orders",
    ))
    .reference_identity();
    assert_eq!(user.principal_id.as_deref(), Some("uai-oid"));
    assert_eq!(user.label, "user-assigned identity id-orders");
    let detached = app(Some(
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other",
    ))
    .reference_identity();
    assert_eq!(detached.principal_id, None);
    assert!(
        detached
            .missing
            .is_some_and(|why| why.contains("not attached"))
    );
    let mut no_identity = app(None);
    no_identity.system_principal_id = None;
    let found = FoundReference {
        setting: "Db".into(),
        setting_kind: SettingKind::ConnectionString,
        reference: parse_reference("@Microsoft.KeyVault(VaultName=kv;SecretName=db)")
            .and_then(Result::ok)
            .expect("a reference"),
    };
    let consumers = consumers_of_app(&no_identity, &[found], &HashMap::new(), &HashMap::new());
    assert!(
        matches!(&consumers[0].access, ConsumerAccess::Unknown { why } if why.contains("MSINotEnabled"))
    );
}

#[test]
fn a_verdict_and_a_platform_status_that_disagree_are_flagged() {
    assert_eq!(
        consumer("a", None, Some(true), Some("Resolved")).disagreement(),
        None
    );
    assert_eq!(
        consumer("a", None, Some(false), Some("AccessToKeyVaultDenied")).disagreement(),
        None
    );
    assert!(
        consumer("a", None, Some(true), Some("AccessToKeyVaultDenied"))
            .disagreement()
            .is_some_and(|why| why.contains("24 hours"))
    );
    assert!(
        consumer("a", None, Some(false), Some("Resolved"))
            .disagreement()
            .is_some()
    );
    assert_eq!(
        consumer("a", None, None, Some("Resolved")).disagreement(),
        None
    );
    assert_eq!(consumer("a", None, Some(false), None).disagreement(), None);
}

#[test]
fn deleting_disabling_and_revoking_break_the_consumers_they_reach() {
    let consumers = VaultConsumers {
        vault_name: "kv".into(),
        consumers: vec![
            consumer("db", None, Some(true), None),
            consumer("db", Some("v1"), Some(true), None),
            consumer("db", Some("v2"), Some(true), None),
            consumer("api", None, Some(true), None),
            // Already broken: not counted as broken by the change.
            consumer("db", None, Some(false), None),
        ],
        ..Default::default()
    };
    let settings = |found: Vec<&SecretConsumer>| -> Vec<String> {
        found
            .iter()
            .map(|consumer| format!("{}@{}", consumer.secret_name, consumer.version_label()))
            .collect()
    };
    assert_eq!(
        settings(consumers.breaking(&RiskyChange::DeleteSecret { name: "DB" })),
        ["db@latest version", "db@pinned to v1", "db@pinned to v2"]
    );
    assert_eq!(
        settings(consumers.breaking(&RiskyChange::DisableVersion {
            name: "db",
            version: Some("v1"),
            latest: Some("v2"),
        })),
        ["db@pinned to v1"]
    );
    assert_eq!(
        settings(consumers.breaking(&RiskyChange::DisableVersion {
            name: "db",
            version: Some("v2"),
            latest: Some("v2"),
        })),
        ["db@latest version", "db@pinned to v2"]
    );
    assert_eq!(
        settings(consumers.breaking(&RiskyChange::DisableVersion {
            name: "db",
            version: None,
            latest: None,
        })),
        ["db@latest version"]
    );
    assert_eq!(
        consumers
            .breaking(&RiskyChange::RevokeGet {
                principal_id: "SYS-OID",
                secret: None
            })
            .len(),
        4
    );
    assert!(
        consumers
            .breaking(&RiskyChange::RevokeGet {
                principal_id: "other",
                secret: None
            })
            .is_empty()
    );
}
