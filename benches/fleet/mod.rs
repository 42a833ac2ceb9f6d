//! What the window benchmarks share: the rows of a generated fleet (names, attributes and tags like a
//! real vault's, never a value) and the process's peak resident set.

#![allow(dead_code)]

use vaultscope::azure::identifiers::VaultUri;
use vaultscope::azure::models::{ObjectAttributes, ObjectItem};

/// Row `index` of `vault`: `service-000123-api-key`, tagged by owner and environment, expiring over
/// the next thousand days.
pub fn item(vault: &VaultUri, index: usize) -> ObjectItem {
    let mut tags = std::collections::BTreeMap::new();
    tags.insert("owner".to_owned(), format!("team-{}", index % 50));
    tags.insert("env".to_owned(), "prod".to_owned());
    ObjectItem {
        id: Some(format!("{vault}secrets/service-{index:06}-api-key")),
        attributes: ObjectAttributes {
            enabled: Some(!index.is_multiple_of(13)),
            updated: Some(1_780_000_000 + index as i64),
            created: Some(1_770_000_000 + index as i64),
            exp: Some(1_790_000_000 + (index as i64 % 1000) * 86_400),
            recoverable_days: Some(90),
            recovery_level: Some("Recoverable+Purgeable".into()),
            ..ObjectAttributes::default()
        },
        tags,
        content_type: Some("text/plain".into()),
        ..ObjectItem::default()
    }
}

/// The process's peak resident set (`VmHWM`), in MiB; `None` where /proc is not there.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
