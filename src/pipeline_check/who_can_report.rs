//! `vaultscope who-can`'s answer as text, as JSON (`schema` `vaultscope.who-can/1`, documented in the
//! README; fields only ever added within a version) and as CSV (one row per principal and operation).

use serde_json::{Value, json};

use super::WhoCanReport;
use crate::access::Target;
use crate::access::who_can::{AccessPath, PrincipalAccess};

pub const SCHEMA: &str = "vaultscope.who-can/1";

/// A cell a spreadsheet will not run as a formula: one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'` (OWASP's CSV-injection advice). Names come from the directory,
/// which anyone able to create a group or an app writes to.
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn path_json(path: &AccessPath) -> Value {
    json!({"grant": path.grant, "viaGroup": path.via_group})
}

fn principal_json(principal: &PrincipalAccess) -> Value {
    let mut answer = json!({
        "objectId": principal.id,
        "name": principal.name,
        "kind": principal.kind.label(),
        "paths": principal.paths.iter().map(path_json).collect::<Vec<_>>(),
    });
    if !principal.blocked_by.is_empty() {
        answer["blockedBy"] = json!(principal.blocked_by);
    }
    answer
}

fn target_json(target: &Target) -> Value {
    match target {
        Target::Vault => json!({"kind": "vault"}),
        Target::Object { object_type, name } => {
            json!({"kind": object_type.singular(), "name": name})
        }
    }
}

pub fn to_json(report: &WhoCanReport) -> Value {
    let answer = &report.answer;
    json!({
        "schema": SCHEMA,
        "vault": report.vault.as_str(),
        "resourceId": report.arm_id,
        "permissionModel": answer.model.label(),
        "target": target_json(&answer.target),
        "operations": answer.operations.iter().map(|operation| json!({
            "objectType": operation.operation.object_type.collection(),
            "operation": operation.operation.name,
            "dataAction": operation.operation.data_action(),
            "allowed": operation.allowed.iter().map(principal_json).collect::<Vec<_>>(),
            "blocked": operation.blocked.iter().map(principal_json).collect::<Vec<_>>(),
            "eligible": operation.eligible.iter().map(principal_json).collect::<Vec<_>>(),
            "groups": operation.groups.iter().map(|group| json!({
                "objectId": group.id, "name": group.name, "grant": group.grant,
                "memberCount": group.member_count,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "selfGranters": answer.self_granters.iter().map(|granter| json!({
            "objectId": granter.id, "name": granter.name, "kind": granter.kind.label(),
            "action": granter.action, "grant": granter.path.grant, "viaGroup": granter.path.via_group,
        })).collect::<Vec<_>>(),
        "caveats": answer.caveats,
    })
}

/// One row per principal and operation: `operation,status,object_id,name,kind,paths`.
pub fn to_csv(report: &WhoCanReport) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["operation", "status", "object_id", "name", "kind", "paths"])?;
    for operation in &report.answer.operations {
        let label = format!(
            "{}/{}",
            operation.operation.object_type.collection(),
            operation.operation.name
        );
        for (status, principals) in [
            ("allowed", &operation.allowed),
            ("blocked", &operation.blocked),
            ("eligible", &operation.eligible),
        ] {
            for principal in principals {
                let mut paths: Vec<String> =
                    principal.paths.iter().map(AccessPath::describe).collect();
                paths.extend(
                    principal
                        .blocked_by
                        .iter()
                        .map(|deny| format!("blocked by {deny}")),
                );
                writer.write_record([
                    label.as_str(),
                    status,
                    principal.id.as_str(),
                    // A name starting with = + - @ would be a formula to a spreadsheet.
                    &spreadsheet_safe(&principal.name),
                    principal.kind.label(),
                    &spreadsheet_safe(&paths.join("; ")),
                ])?;
            }
        }
    }
    let bytes = writer.into_inner().map_err(|error| error.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn to_text(report: &WhoCanReport) -> String {
    let answer = &report.answer;
    let target = match &answer.target {
        Target::Vault => "the vault".to_owned(),
        Target::Object { object_type, name } => format!("{} {name}", object_type.singular()),
    };
    let mut lines = vec![format!(
        "{} ({}), {target}:",
        report.vault,
        answer.model.label()
    )];
    for operation in &answer.operations {
        lines.push(format!(
            "{} {}: {} allowed{}{}",
            operation.operation.object_type.singular(),
            operation.operation.name,
            operation.allowed.len(),
            if operation.blocked.is_empty() {
                String::new()
            } else {
                format!(", {} blocked", operation.blocked.len())
            },
            if operation.eligible.is_empty() {
                String::new()
            } else {
                format!(", {} eligible", operation.eligible.len())
            },
        ));
        for group in &operation.groups {
            lines.push(format!(
                "  group {} ({} members): {}",
                group.name,
                group
                    .member_count
                    .map_or("?".to_owned(), |count| count.to_string()),
                group.grant
            ));
        }
        for principal in &operation.allowed {
            let paths: Vec<String> = principal.paths.iter().map(AccessPath::describe).collect();
            lines.push(format!(
                "  ALLOWED  {} ({}): {}",
                principal.name,
                principal.kind.label(),
                paths.join("; ")
            ));
        }
        for principal in &operation.blocked {
            lines.push(format!(
                "  BLOCKED  {} ({}): {}",
                principal.name,
                principal.kind.label(),
                principal.blocked_by.join("; ")
            ));
        }
        for principal in &operation.eligible {
            let paths: Vec<String> = principal.paths.iter().map(|path| path.describe()).collect();
            lines.push(format!(
                "  ELIGIBLE {} ({}), not active: {}",
                principal.name,
                principal.kind.label(),
                paths.join("; ")
            ));
        }
    }
    if !answer.self_granters.is_empty() {
        lines.push("Can grant themselves access:".to_owned());
        for granter in &answer.self_granters {
            lines.push(format!(
                "  {} ({}): {} ({})",
                granter.name,
                granter.kind.label(),
                granter.path.describe(),
                granter.action
            ));
        }
    }
    for caveat in &answer.caveats {
        lines.push(format!("caveat: {caveat}"));
    }
    lines.join("\n")
}
