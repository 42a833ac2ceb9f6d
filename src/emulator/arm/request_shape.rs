//! How ARM reads a request before routing it: the path normalised as ARM normalises it (segment names
//! in any case, repeated and trailing slashes ignored), and the api-version checked for its shape.

use axum::http::StatusCode;
use axum::response::Response;

use crate::emulator::responses::arm_error;

/// The fixed segment names of the routes the emulator serves, in the case its router spells them. ARM
/// matches them in any case (`/Subscriptions/x/resourcegroups/y` is the same resource).
const SEGMENT_NAMES: &[&str] = &[
    "subscriptions",
    "resourceGroups",
    "providers",
    "resources",
    "tenants",
    "metadata",
    "endpoints",
    "locations",
    "Microsoft.KeyVault",
    "Microsoft.ResourceGraph",
    "vaults",
    "accessPolicies",
    "deletedVaults",
    "purge",
    "Microsoft.Authorization",
    "roleAssignments",
    "roleDefinitions",
    "denyAssignments",
    "permissions",
    "roleEligibilityScheduleInstances",
    "Microsoft.Web",
    "sites",
    "config",
    "appsettings",
    "connectionstrings",
    "configreferences",
    "list",
    "Microsoft.ManagedIdentity",
    "userAssignedIdentities",
];

/// `path` with repeated slashes collapsed, a trailing slash dropped and every fixed segment name in the
/// router's case. Names of resources keep theirs (ARM compares them without case; handlers do too).
pub(super) fn normalized_path(path: &str) -> String {
    let segments: Vec<&str> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            SEGMENT_NAMES
                .iter()
                .find(|name| name.eq_ignore_ascii_case(segment))
                .copied()
                .unwrap_or(segment)
        })
        .collect();
    format!("/{}", segments.join("/"))
}

/// Refuses an OData system query option (`$…`) the emulator does not evaluate, as ARM refuses what a
/// resource provider does not support, rather than answering as though it had been applied.
pub(super) fn check_query_options(query: Option<&str>) -> Result<(), Response> {
    const SUPPORTED: [&str; 4] = ["$filter", "$top", "$skiptoken", "$skipToken"];
    let unsupported = query.and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(key, _)| key.into_owned())
            .find(|key| key.starts_with('$') && !SUPPORTED.contains(&key.as_str()))
    });
    match unsupported {
        None => Ok(()),
        Some(option) => Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            &format!(
                "The query option '{}' is not supported here; the emulator evaluates $filter, $top and $skiptoken.",
                crate::untrusted_text::escape_deceptive(&option)
            ),
        )),
    }
}

/// The first ARM api-version: Resource Manager went live in 2014.
const FIRST_API_VERSION: (u32, u32) = (2014, 1);

/// Checks `api-version` as ARM does before routing: present (`MissingApiVersionParameter`) and a
/// version that exists (`InvalidApiVersionParameter`). ARM knows each provider's list; the emulator
/// cannot carry every list of every type it serves, so it accepts the shape Azure's versions have
/// (`YYYY-MM-DD`, optionally `-preview`, `-beta` or `-privatepreview`), a real calendar date from 2014
/// up to today, and refuses anything else, which is what a typo or a made-up version looks like.
pub(super) fn check_api_version(query: Option<&str>, today: time::Date) -> Result<(), Response> {
    let version = query.and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "api-version")
            .map(|(_, value)| value.into_owned())
    });
    let Some(version) = version.filter(|version| !version.is_empty()) else {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    if api_version_exists(&version, today) {
        Ok(())
    } else {
        Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            &format!(
                "The api-version '{}' is invalid. The supported versions are dated YYYY-MM-DD, from 2014 until today, with an optional '-preview' suffix.",
                crate::untrusted_text::escape_deceptive(
                    &version.chars().take(40).collect::<String>()
                )
            ),
        ))
    }
}

fn api_version_exists(version: &str, today: time::Date) -> bool {
    let (date, suffix) = match version.get(..10) {
        Some(date) => (date, &version[10..]),
        None => return false,
    };
    if !matches!(
        suffix,
        "" | "-preview" | "-beta" | "-privatepreview" | "-alpha"
    ) {
        return false;
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let Ok(date) = time::Date::parse(date, format) else {
        return false;
    };
    let year = u32::try_from(date.year()).unwrap_or(0);
    (year, u32::from(u8::from(date.month()))) >= FIRST_API_VERSION && date <= today
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_as_arm_normalises_them() {
        assert_eq!(
            normalized_path(
                "//Subscriptions/S1/resourcegroups/rg//PROVIDERS/microsoft.keyvault/VAULTS/kv-One/"
            ),
            "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-One"
        );
        assert_eq!(
            normalized_path("//metadata/endpoints"),
            "/metadata/endpoints"
        );
        assert_eq!(normalized_path("/"), "/");
    }

    #[test]
    fn api_versions_must_exist() {
        let today = time::macros::date!(2026 - 12 - 02);
        for good in [
            "2023-07-01",
            "2022-04-01",
            "2021-12-01-preview",
            "2014-04-01",
        ] {
            assert!(api_version_exists(good, today), "{good}");
        }
        for bad in [
            "2099-01-01",
            "2023-13-01",
            "2023-02-30",
            "latest",
            "2023-07-01x",
            "2013-01-01",
            "",
        ] {
            assert!(!api_version_exists(bad, today), "{bad}");
        }
        assert!(check_api_version(Some("api-version=2099-01-01"), today).is_err());
        assert!(check_api_version(Some("x=1"), today).is_err());
        assert!(check_api_version(Some("api-version=2023-07-01&x=1"), today).is_ok());
        assert!(check_query_options(Some("api-version=1&$filter=x&$top=5")).is_ok());
        assert!(check_query_options(Some("api-version=1&%24orderby=name")).is_err());
    }
}
