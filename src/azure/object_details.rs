//! What the details pane shows beyond a list row: a key's type, size or curve and operations; a
//! certificate's subject, SANs, issuer, validity, serial and policy (read from its DER with x509-parser,
//! the policy from the bundle); and the raw JSON with any `value` redacted.

use serde_json::Value;

/// A key's public properties (`GET /keys/{name}/{version}` → `key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyDetails {
    /// `RSA`, `RSA-HSM`, `EC`, `EC-HSM`, `oct-HSM`.
    pub key_type: String,
    /// RSA modulus size in bits.
    pub size_bits: Option<usize>,
    /// EC curve (`P-256`, …).
    pub curve: Option<String>,
    pub operations: Vec<String>,
}

/// A certificate as read from its DER, plus its issuance policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateDetails {
    pub subject: String,
    pub issuer: String,
    /// DNS names, e-mail addresses, URIs and IP addresses from the SAN extension.
    pub subject_alternative_names: Vec<String>,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    pub serial_hex: String,
    /// Why the DER could not be read, when it could not.
    pub parse_error: Option<String>,
    pub policy: Option<PolicySummary>,
}

/// The parts of a certificate policy an operator checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySummary {
    /// `Self`, `Unknown`, or a configured issuer (DigiCert, GlobalSign…).
    pub issuer_name: Option<String>,
    pub subject: Option<String>,
    pub validity_months: Option<u64>,
    /// "EC P-256", "RSA 2048".
    pub key: Option<String>,
    pub exportable: Option<bool>,
    pub reuse_key: Option<bool>,
    pub content_type: Option<String>,
    /// "AutoRenew at 80 % of lifetime", "EmailContacts 30 days before expiry".
    pub lifetime_actions: Vec<String>,
}

/// What the details request found for one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectDetails {
    Key(KeyDetails),
    Certificate(Box<CertificateDetails>),
    /// Secrets: no second read (that would read the value); the list row is all there is.
    None,
}

impl KeyDetails {
    pub fn from_bundle(bundle: &Value) -> Self {
        let key = bundle.get("key").unwrap_or(&Value::Null);
        let text = |field: &str| key.get(field).and_then(Value::as_str).map(str::to_owned);
        let size_bits = text("n").and_then(|n| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(n.trim_end_matches('='))
                .ok()
                // A leading zero byte is sign padding, not part of the modulus size.
                .map(|bytes| bytes.iter().skip_while(|byte| **byte == 0).count() * 8)
        });
        Self {
            key_type: text("kty").unwrap_or_default(),
            size_bits,
            curve: text("crv"),
            operations: key
                .get("key_ops")
                .and_then(Value::as_array)
                .map(|ops| {
                    ops.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// "RSA 2048", "EC P-256".
    pub fn summary(&self) -> String {
        match (&self.size_bits, &self.curve) {
            (Some(bits), _) => format!("{} {bits}", self.key_type),
            (None, Some(curve)) => format!("{} {curve}", self.key_type),
            (None, None) => self.key_type.clone(),
        }
    }
}

impl CertificateDetails {
    pub fn from_bundle(bundle: &Value) -> Self {
        let mut details = match bundle.get("cer").and_then(Value::as_str) {
            Some(cer) => from_der_base64(cer),
            None => Self {
                parse_error: Some("the service sent no certificate (cer)".into()),
                ..Self::default()
            },
        };
        details.policy = bundle.get("policy").map(PolicySummary::from_policy);
        details
    }
}

fn from_der_base64(cer: &str) -> CertificateDetails {
    use base64::Engine;
    let der = match base64::engine::general_purpose::STANDARD.decode(cer) {
        Ok(der) => der,
        Err(error) => {
            return CertificateDetails {
                parse_error: Some(format!("cer is not base64: {error}")),
                ..CertificateDetails::default()
            };
        }
    };
    match x509_parser::parse_x509_certificate(&der) {
        Ok((_, certificate)) => {
            let mut names = Vec::new();
            if let Ok(Some(san)) = certificate.subject_alternative_name() {
                for name in &san.value.general_names {
                    use x509_parser::extensions::GeneralName;
                    match name {
                        GeneralName::DNSName(dns) => names.push(format!("DNS:{dns}")),
                        GeneralName::RFC822Name(mail) => names.push(format!("email:{mail}")),
                        GeneralName::URI(uri) => names.push(format!("URI:{uri}")),
                        GeneralName::IPAddress(bytes) => names.push(format!("IP:{}", ip(bytes))),
                        other => names.push(other.to_string()),
                    }
                }
            }
            CertificateDetails {
                subject: certificate.subject().to_string(),
                issuer: certificate.issuer().to_string(),
                subject_alternative_names: names,
                not_before: Some(certificate.validity().not_before.timestamp()),
                not_after: Some(certificate.validity().not_after.timestamp()),
                serial_hex: certificate
                    .raw_serial_as_string()
                    .replace(':', "")
                    .to_uppercase(),
                parse_error: None,
                policy: None,
            }
        }
        Err(error) => CertificateDetails {
            parse_error: Some(format!("the certificate could not be read: {error}")),
            ..CertificateDetails::default()
        },
    }
}

fn ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(octets).to_string()
        }
        _ => format!("{bytes:02x?}"),
    }
}

impl PolicySummary {
    pub fn from_policy(policy: &Value) -> Self {
        let text = |pointer: &str| {
            policy
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let flag = |pointer: &str| policy.pointer(pointer).and_then(Value::as_bool);
        let key = text("/key_props/kty").map(|kty| {
            match (
                policy
                    .pointer("/key_props/key_size")
                    .and_then(Value::as_u64),
                text("/key_props/crv"),
            ) {
                (Some(size), _) => format!("{kty} {size}"),
                (None, Some(curve)) => format!("{kty} {curve}"),
                (None, None) => kty,
            }
        });
        let lifetime_actions = policy
            .get("lifetime_actions")
            .and_then(Value::as_array)
            .map(|actions| actions.iter().map(describe_lifetime_action).collect())
            .unwrap_or_default();
        Self {
            issuer_name: text("/issuer/name"),
            subject: text("/x509_props/subject"),
            validity_months: policy
                .pointer("/x509_props/validity_months")
                .and_then(Value::as_u64),
            key,
            exportable: flag("/key_props/exportable"),
            reuse_key: flag("/key_props/reuse_key"),
            content_type: text("/secret_props/contentType"),
            lifetime_actions,
        }
    }
}

fn describe_lifetime_action(action: &Value) -> String {
    let kind = action
        .pointer("/action/action_type")
        .and_then(Value::as_str)
        .unwrap_or("?");
    if let Some(percentage) = action
        .pointer("/trigger/lifetime_percentage")
        .and_then(Value::as_u64)
    {
        format!("{kind} at {percentage} % of lifetime")
    } else if let Some(days) = action
        .pointer("/trigger/days_before_expiry")
        .and_then(Value::as_u64)
    {
        format!("{kind} {days} days before expiry")
    } else {
        kind.to_owned()
    }
}

/// Pretty JSON with every `value` field (a secret's value, a certificate's PFX) replaced.
pub fn redacted_json(json: &Value) -> String {
    fn redact(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    if key == "value" {
                        *inner = Value::String("<redacted>".into());
                    } else {
                        redact(inner);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(redact),
            _ => {}
        }
    }
    let mut copy = json.clone();
    redact(&mut copy);
    serde_json::to_string_pretty(&copy).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_size_curve_and_operations() {
        use base64::Engine;
        let modulus = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            [0u8; 1]
                .iter()
                .chain([0xC5u8; 256].iter())
                .copied()
                .collect::<Vec<u8>>(),
        );
        let rsa = KeyDetails::from_bundle(
            &json!({"key": {"kty": "RSA", "n": modulus, "key_ops": ["sign", "verify"]}}),
        );
        assert_eq!(rsa.summary(), "RSA 2048");
        assert_eq!(rsa.operations, ["sign", "verify"]);
        let ec = KeyDetails::from_bundle(&json!({"key": {"kty": "EC-HSM", "crv": "P-384"}}));
        assert_eq!(ec.summary(), "EC-HSM P-384");
    }

    #[test]
    fn certificate_from_der_and_policy() {
        let mut params =
            rcgen::CertificateParams::new(vec!["api.contoso.com".to_owned()]).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "api.contoso.com");
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params.self_signed(&key).expect("certificate");
        use base64::Engine;
        let cer = base64::engine::general_purpose::STANDARD.encode(certificate.der());
        let details = CertificateDetails::from_bundle(&json!({
            "cer": cer,
            "policy": {
                "issuer": {"name": "Self"},
                "key_props": {"kty": "RSA", "key_size": 2048, "exportable": false},
                "x509_props": {"subject": "CN=api.contoso.com", "validity_months": 12},
                "lifetime_actions": [{"trigger": {"days_before_expiry": 30}, "action": {"action_type": "EmailContacts"}}]
            }
        }));
        assert_eq!(details.parse_error, None);
        assert_eq!(details.subject, "CN=api.contoso.com");
        assert_eq!(details.issuer, details.subject, "self-signed");
        assert_eq!(details.subject_alternative_names, ["DNS:api.contoso.com"]);
        assert!(details.not_after > details.not_before);
        let policy = details.policy.expect("policy");
        assert_eq!(policy.key.as_deref(), Some("RSA 2048"));
        assert_eq!(
            policy.lifetime_actions,
            ["EmailContacts 30 days before expiry"]
        );
        let broken = CertificateDetails::from_bundle(&json!({"cer": "AAAA"}));
        assert!(broken.parse_error.is_some());
    }

    #[test]
    fn raw_json_never_shows_a_value() {
        let text = redacted_json(&json!({"value": "hunter2", "id": "x", "nested": [{"value": 1}]}));
        assert!(!text.contains("hunter2"));
        assert_eq!(text.matches("<redacted>").count(), 2);
    }
}
