//! What each sign-in method needs and whether it looks available on this machine (az on PATH, managed
//! identity variables, an environment service principal, a connection string), for the sign-in screen.
//! Looks only at the environment snapshot and the file system; never signs in.

use std::ffi::OsString;

use super::environment::{describe_service_principal, parse_connection_string};
use super::environment_snapshot::EnvironmentSnapshot;
use super::managed_identity::describe_environment;

/// The sign-in methods, in the order the sign-in screen lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodKind {
    AzureCli,
    DeviceCode,
    ManagedIdentity,
    EnvironmentServicePrincipal,
    ConnectionString,
}

/// One row of the sign-in screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodAvailability {
    pub kind: MethodKind,
    pub title: &'static str,
    /// What the method needs, in a sentence.
    pub needs: &'static str,
    /// Whether it looks usable here.
    pub looks_available: bool,
    /// What was found (or is missing).
    pub finding: String,
}

/// Every method with what was found for it.
/// `keyring_problem`: why a device-code sign-in cannot be remembered here (no OS keyring), or `None`.
pub fn sign_in_methods(
    environment: &EnvironmentSnapshot,
    azure_cli_search_path: Option<&OsString>,
    keyring_problem: Option<&str>,
) -> Vec<MethodAvailability> {
    let cli = super::azure_cli::find_azure_cli(azure_cli_search_path.map(OsString::as_os_str));
    let managed_identity_variables = [
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    ]
    .iter()
    .any(|name| environment.has(name));
    let service_principal = describe_service_principal(environment);
    let connection_string = environment
        .secret("AzureServicesAuthConnectionString")
        .map(|text| parse_connection_string(&text));
    vec![
        MethodAvailability {
            kind: MethodKind::AzureCli,
            title: "Azure CLI",
            needs: "az on PATH, signed in with `az login`",
            looks_available: cli.is_some(),
            finding: match &cli {
                Some(path) => format!("found {}", path.display()),
                None => "az is not on PATH".to_owned(),
            },
        },
        MethodAvailability {
            kind: MethodKind::DeviceCode,
            title: "Device code",
            needs: match keyring_problem {
                None => "a browser anywhere to enter a code; remembered in the OS keyring",
                Some(_) => "a browser anywhere to enter a code",
            },
            looks_available: true,
            finding: match keyring_problem {
                None => "always possible".to_owned(),
                Some(why) => format!("possible, but not remembered for the next launch: {why}"),
            },
        },
        MethodAvailability {
            kind: MethodKind::ManagedIdentity,
            title: "Managed identity",
            needs: "this app to run on Azure: a VM, App Service, Functions, AKS or Container Apps",
            looks_available: managed_identity_variables,
            finding: describe_environment(environment),
        },
        MethodAvailability {
            kind: MethodKind::EnvironmentServicePrincipal,
            title: "Service principal from the environment",
            needs: "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE",
            looks_available: service_principal.is_ok(),
            finding: match service_principal {
                Ok(found) => found,
                Err(missing) => missing,
            },
        },
        MethodAvailability {
            kind: MethodKind::ConnectionString,
            title: "AzureServicesAuthConnectionString",
            needs: "the AppAuthentication connection string variable",
            looks_available: matches!(connection_string, Some(Ok(_))),
            finding: match connection_string {
                None => "not set".to_owned(),
                Some(Ok(method)) => format!("set: {}", method.describe()),
                Some(Err(error)) => error.to_string(),
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_keyring_the_device_code_row_promises_no_remembering() {
        let empty_dir = std::env::temp_dir().join("vaultscope-no-az-here");
        let search = OsString::from(empty_dir.as_os_str());
        let row = |problem| {
            sign_in_methods(&EnvironmentSnapshot::default(), Some(&search), problem)
                .into_iter()
                .find(|method| method.kind == MethodKind::DeviceCode)
                .expect("device code row")
        };
        assert!(row(None).needs.contains("remembered in the OS keyring"));
        let without = row(Some("no Secret Service on the session bus"));
        assert!(!without.needs.contains("remembered"), "{}", without.needs);
        assert_eq!(
            without.finding,
            "possible, but not remembered for the next launch: no Secret Service on the session bus"
        );
    }

    #[test]
    fn availability_follows_the_environment() {
        let empty_dir = std::env::temp_dir().join("vaultscope-no-az-here");
        let search = OsString::from(empty_dir.as_os_str());
        let nothing = sign_in_methods(&EnvironmentSnapshot::default(), Some(&search), None);
        let available: Vec<MethodKind> = nothing
            .iter()
            .filter(|method| method.looks_available)
            .map(|method| method.kind)
            .collect();
        assert_eq!(available, [MethodKind::DeviceCode]);
        assert_eq!(nothing[0].finding, "az is not on PATH");

        let environment = EnvironmentSnapshot::from_pairs(
            [
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:41/msi/token"),
                ("IDENTITY_HEADER", "h"),
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_CLIENT_SECRET", "very-secret"),
                (
                    "AzureServicesAuthConnectionString",
                    "RunAs=App;AppId=a;TenantId=t;AppKey=k3y",
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let all = sign_in_methods(&environment, Some(&search), None);
        assert!(
            all[2..].iter().all(|method| method.looks_available),
            "{all:?}"
        );
        let shown = format!("{all:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("k3y"),
            "{shown}"
        );
    }
}
