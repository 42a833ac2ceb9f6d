//! Key Vault challenge-based auth: parse `WWW-Authenticate: Bearer authorization=…, resource=…|scope=…` and
//! refuse a challenge whose resource is not the parent domain of the vault (design invariant 5).
//!
//! Parsing follows the official Rust client (`authorizer.rs`): the first `scope` or `resource` wins, and a
//! `resource` gets `/.default` appended; the host check compares hosts without ports, as that client does.

use url::Url;

use super::error::AzureError;

/// What a vault asked for in its 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The token scope, e.g. `https://vault.azure.net/.default`.
    pub scope: String,
    /// The tenant named by the `authorization`/`authorization_uri` URL, when present.
    pub tenant_id: Option<String>,
}

/// The `key=value` parameters of a `Bearer` challenge (keys lower-cased, quotes taken off); `None` when it
/// is not a `Bearer` challenge.
fn bearer_parameters(header: &str) -> Option<impl Iterator<Item = (String, &str)>> {
    let rest = header.trim();
    let rest = rest
        .strip_prefix("Bearer")
        .or_else(|| rest.strip_prefix("bearer"))?;
    Some(rest.split(',').filter_map(|part| {
        let (key, value) = part.split_once('=')?;
        Some((
            key.trim().to_ascii_lowercase(),
            value.trim().trim_matches('"').trim(),
        ))
    }))
}

/// Parses a `Bearer` challenge; `None` when it is not one or names no resource or scope.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let mut scope = None;
    let mut tenant_id = None;
    for (key, value) in bearer_parameters(header)? {
        match key.as_str() {
            "scope" if scope.is_none() => scope = Some(value.to_owned()),
            "resource" if scope.is_none() => {
                scope = Some(format!("{}/.default", value.trim_end_matches('/')))
            }
            "authorization" | "authorization_uri" => {
                tenant_id = Url::parse(value).ok().and_then(|url| {
                    url.path_segments()
                        .and_then(|mut segments| segments.next().map(str::to_owned))
                        .filter(|segment| !segment.is_empty())
                });
            }
            _ => {}
        }
    }
    Some(Challenge {
        scope: scope.filter(|scope| !scope.is_empty())?,
        tenant_id,
    })
}

/// The Continuous Access Evaluation part of a `WWW-Authenticate` (any service): `Some(description)` when it
/// says `error="insufficient_claims"` or carries `claims=`, as MSAL and the SDKs' `BearerTokenPolicy`
/// detect it (azure-sdk-for-python `_tools.get_challenge_parameter(..., "claims")`).
pub fn claims_challenge(header: &str) -> Option<String> {
    let mut is_claims = false;
    let mut description = None;
    for (key, value) in bearer_parameters(header)? {
        match key.as_str() {
            "error" if value == "insufficient_claims" => is_claims = true,
            "claims" if !value.is_empty() => is_claims = true,
            "error_description" => {
                description = Some(
                    crate::untrusted_text::escape_deceptive(value)
                        .chars()
                        .take(200)
                        .collect(),
                )
            }
            _ => {}
        }
    }
    is_claims.then(|| description.unwrap_or_else(|| "insufficient_claims".to_owned()))
}

/// Checks that `request_url`'s host lies under the domain of `scope`'s host, so a token for that audience may
/// go there. `https://kv.vault.azure.net` may receive a `https://vault.azure.net` token;
/// `https://evil.example` may not.
pub fn verify_challenge_domain(request_url: &Url, scope: &str) -> Result<(), AzureError> {
    let request_host = request_url
        .host_str()
        .ok_or_else(|| AzureError::InvalidUri(request_url.to_string()))?
        .to_ascii_lowercase();
    let scope_host = Url::parse(scope)
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
        .ok_or_else(|| AzureError::TokenRefused(format!("challenge scope {scope} has no host")))?;
    if request_url.scheme() != "https" {
        return Err(AzureError::TokenRefused(format!(
            "{request_url} is not HTTPS"
        )));
    }
    if request_host.ends_with('.') || !request_host.ends_with(&format!(".{scope_host}")) {
        return Err(AzureError::TokenRefused(format!(
            "the vault {request_host} challenged for a token of {scope_host}, which is not its parent domain; \
             see https://aka.ms/azsdk/blog/vault-uri"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claims_challenge_is_told_from_an_ordinary_one() {
        let cae = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", error_description="User session has been revoked", claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ==""#;
        assert_eq!(
            claims_challenge(cae).as_deref(),
            Some("User session has been revoked")
        );
        assert!(claims_challenge(r#"Bearer error="invalid_token", claims="e30=""#).is_some());
        assert_eq!(
            claims_challenge(
                r#"Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net""#
            ),
            None
        );
        assert_eq!(claims_challenge("Basic realm=x"), None);
    }

    fn check(header: &str, expect: Option<(&str, Option<&str>)>) {
        let parsed = parse_challenge(header);
        let actual = parsed
            .as_ref()
            .map(|challenge| (challenge.scope.as_str(), challenge.tenant_id.as_deref()));
        assert_eq!(actual, expect, "header {header}");
    }

    #[test]
    fn parses_challenge_forms() {
        check(
            r#"Bearer authorization="https://login.windows.net/72f988bf", resource="https://vault.azure.net""#,
            Some(("https://vault.azure.net/.default", Some("72f988bf"))),
        );
        check(
            r#"Bearer authorization_uri="https://login.localhost:8443/t1", scope="https://vault.localhost:8443/.default", resource="https://other""#,
            Some(("https://vault.localhost:8443/.default", Some("t1"))),
        );
        check(r#"Basic realm="x""#, None);
        check(
            r#"Bearer authorization="https://login.windows.net/t""#,
            None,
        );
    }

    #[test]
    fn domain_check() {
        let ok = Url::parse("https://kv1.vault.azure.net/secrets").expect("url");
        assert!(verify_challenge_domain(&ok, "https://vault.azure.net/.default").is_ok());
        let local = Url::parse("https://demo.vault.localhost:9443/secrets").expect("url");
        assert!(verify_challenge_domain(&local, "https://vault.localhost:9443/.default").is_ok());
        let evil = Url::parse("https://kv1.vault.evil.example/").expect("url");
        assert!(verify_challenge_domain(&evil, "https://vault.azure.net/.default").is_err());
        let suffix_trick = Url::parse("https://hostvault.azure.net/").expect("url");
        assert!(
            verify_challenge_domain(&suffix_trick, "https://vault.azure.net/.default").is_err()
        );
        let plain = Url::parse("http://kv1.vault.azure.net/").expect("url");
        assert!(verify_challenge_domain(&plain, "https://vault.azure.net/.default").is_err());
    }
}
