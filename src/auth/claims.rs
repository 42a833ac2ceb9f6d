//! Reads the identity claims (`oid`, `tid`, `upn`, `name`, `appid`) out of an access token for display.
//!
//! The token is not verified here: the service that receives it does that. We only show who we are.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Who the current tokens belong to, as shown in the status bar.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct SignedInIdentity {
    /// `name` claim (people) or app display name if known.
    #[serde(default)]
    pub name: Option<String>,
    /// `upn`, or `unique_name`/`preferred_username` for guests.
    #[serde(default)]
    pub upn: Option<String>,
    /// `oid`: the object id of the user or service principal.
    #[serde(default)]
    pub oid: Option<String>,
    /// `tid`: the tenant that issued the token.
    #[serde(default)]
    pub tid: Option<String>,
    /// `appid`/`azp`: the client application (for service principals, the principal itself).
    #[serde(default)]
    pub appid: Option<String>,
    #[serde(default)]
    unique_name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
}

impl SignedInIdentity {
    /// Parses the claims of a JWT access token; `None` when it is not a JWT.
    pub fn from_access_token(token: &str) -> Option<Self> {
        let payload = token.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let mut identity: Self = serde_json::from_slice(&bytes).ok()?;
        if identity.upn.is_none() {
            identity.upn = identity
                .unique_name
                .take()
                .or(identity.preferred_username.take());
        }
        Some(identity)
    }

    /// The best short label: name, then UPN, then app id, then object id.
    /// Claims that are empty or blank count as absent; the label is escaped like all outside text.
    pub fn label(&self) -> String {
        let present = |claim: &Option<String>| claim.clone().filter(|text| !text.trim().is_empty());
        let label = present(&self.name)
            .or_else(|| present(&self.upn))
            .or_else(|| present(&self.appid).map(|appid| format!("app {appid}")))
            .or_else(|| present(&self.oid))
            .unwrap_or_else(|| "unknown identity".to_owned());
        crate::untrusted_text::escape_deceptive(&label).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `jwt_claims` fuzz target: a payload whose `name` is empty (`[""]` decodes as one)
    /// gave an empty label, so the status bar read "Signed in as ".
    #[test]
    fn an_empty_claim_never_makes_an_empty_label() {
        let token = |payload: &str| format!("h.{}.s", URL_SAFE_NO_PAD.encode(payload));
        let identity = SignedInIdentity::from_access_token(&token(r#"[""]"#)).expect("decodes");
        assert_eq!(identity.label(), "unknown identity");
        let identity = SignedInIdentity::from_access_token(&token(r#"{"name":" ","oid":"o1"}"#))
            .expect("decodes");
        assert_eq!(identity.label(), "o1");
    }

    fn token_with(payload: &str) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn reads_user_claims() {
        let token = token_with(r#"{"oid":"o1","tid":"t1","upn":"ada@contoso.com","name":"Ada"}"#);
        let identity = SignedInIdentity::from_access_token(&token).expect("claims");
        assert_eq!(identity.oid.as_deref(), Some("o1"));
        assert_eq!(identity.label(), "Ada");
    }

    #[test]
    fn falls_back_to_unique_name_and_app_id() {
        let guest = token_with(r#"{"unique_name":"live.com#bob@x.com"}"#);
        let identity = SignedInIdentity::from_access_token(&guest).expect("claims");
        assert_eq!(identity.upn.as_deref(), Some("live.com#bob@x.com"));
        let app = token_with(r#"{"appid":"a1","oid":"o2"}"#);
        assert_eq!(
            SignedInIdentity::from_access_token(&app)
                .expect("claims")
                .label(),
            "app a1"
        );
    }

    #[test]
    fn rejects_non_jwt() {
        assert!(SignedInIdentity::from_access_token("opaque").is_none());
        assert!(SignedInIdentity::from_access_token("a.!!!.c").is_none());
    }
}
