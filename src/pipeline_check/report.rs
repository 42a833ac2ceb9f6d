//! The check's answer for people (text, as the explorer words it) and for programs: JSON with a `schema`
//! of `vaultscope.check/1`. The shape is documented in the README; fields are added, never renamed or
//! removed, within one schema version.

use serde_json::{Value, json};

use super::{CheckError, CheckReport};
use crate::access::{Grant, Holder, Target, Verdict};

/// The JSON schema name and version of [`to_json`] and [`error_json`].
pub const SCHEMA: &str = "vaultscope.check/1";

fn target_json(target: &Target) -> Value {
    match target {
        Target::Vault => json!({"kind": "vault"}),
        Target::Object { object_type, name } => {
            json!({"kind": object_type.singular(), "name": name})
        }
    }
}

fn holder_json(holder: &Holder) -> Value {
    match holder {
        Holder::Direct => json!({"kind": "direct"}),
        Holder::Group { object_id, name } => {
            json!({"kind": "group", "objectId": object_id, "name": name})
        }
        Holder::Everyone => json!({"kind": "everyone"}),
    }
}

fn grant_json(grant: &Grant, principal: &str) -> Value {
    match grant {
        Grant::Role(role) => json!({
            "kind": "roleAssignment",
            "role": role.role_name,
            "holder": holder_json(&role.holder),
            "scope": role.level.describe(),
            "assignmentId": role.assignment_id,
            "description": grant.describe(principal),
        }),
        Grant::Policy(policy) => json!({
            "kind": "accessPolicy",
            "holder": holder_json(&policy.holder),
            "permissions": policy.permissions,
            "description": grant.describe(principal),
        }),
    }
}

fn verdict_json(verdict: &Verdict, principal: &str) -> Value {
    let mut answer = json!({
        "objectType": verdict.operation.object_type.collection(),
        "operation": verdict.operation.name,
        "dataAction": verdict.operation.data_action(),
        "accessPolicyPermission": verdict.operation.permission,
        "allowed": verdict.allowed,
        "explanation": verdict.explanation(principal),
        "grants": verdict.grants.iter().map(|grant| grant_json(grant, principal)).collect::<Vec<_>>(),
        "deniedBy": verdict.denied_by.iter().map(|deny| deny.describe(principal)).collect::<Vec<_>>(),
        "notes": verdict.notes,
    });
    if let Some(fix) = &verdict.fix {
        answer["fix"] = json!({"summary": fix.lines(), "azCommand": fix.az_command()});
    }
    answer
}

/// The report as JSON (`schema` `vaultscope.check/1`).
pub fn to_json(report: &CheckReport) -> Value {
    let principal = report.evaluation.principal_name();
    let verdicts = report.asked_verdicts();
    json!({
        "schema": SCHEMA,
        "vault": report.vault.as_str(),
        "resourceId": report.arm_id,
        "permissionModel": report.evaluation.model.label(),
        "target": target_json(&report.evaluation.target),
        "principal": {
            "objectId": report.evaluation.principal.id,
            "name": principal,
            "kind": report.evaluation.principal.kind().label(),
            "appId": report.evaluation.principal.app_id,
        },
        "allowed": report.all_allowed(),
        "undecided": report.undecided(),
        "operations": verdicts.iter().map(|verdict| verdict_json(verdict, &principal)).collect::<Vec<_>>(),
        "caveats": report.evaluation.caveats,
    })
}

/// An error as JSON, for `--json` callers: the same schema, with `error` and no verdicts.
pub fn error_json(error: &CheckError) -> Value {
    json!({"schema": SCHEMA, "error": error.to_string()})
}

/// The report as lines of text.
pub fn to_text(report: &CheckReport) -> String {
    let principal = report.evaluation.principal_name();
    let target = match &report.evaluation.target {
        Target::Vault => "the vault".to_owned(),
        Target::Object { object_type, name } => format!("{} {name}", object_type.singular()),
    };
    let mut lines = vec![format!(
        "{principal} on {} ({}), {target}:",
        report.vault,
        report.evaluation.model.label()
    )];
    for verdict in report.asked_verdicts() {
        lines.push(format!(
            "  {} {} {}: {}",
            if verdict.allowed {
                "ALLOWED"
            } else {
                "DENIED "
            },
            verdict.operation.object_type.singular(),
            verdict.operation.name,
            verdict.explanation(&principal)
        ));
        for note in &verdict.notes {
            lines.push(format!("      note: {note}"));
        }
        if let Some(fix) = &verdict.fix {
            lines.push(format!("      fix: {}", fix.az_command()));
        }
    }
    for caveat in &report.evaluation.caveats {
        lines.push(format!("  caveat: {caveat}"));
    }
    lines.push(if report.all_allowed() {
        "Every operation asked about is allowed.".to_owned()
    } else if report.undecided() {
        "Cannot tell: an operation shows as denied, but what could grant it was not readable (above)."
            .to_owned()
    } else {
        "At least one operation asked about is denied.".to_owned()
    });
    lines.join("\n")
}
