//! `vaultscope check` and `vaultscope who-can`: the command lines of the pipeline check and its reverse
//! (`vaultscope::pipeline_check`): their arguments, and the printing and exit code of their answers.

use std::time::Duration;

use vaultscope::access::{ObjectType, Target};
use vaultscope::azure::identifiers::VaultUri;
use vaultscope::cloud::CloudProfile;
use vaultscope::pipeline_check::{
    CheckError, CheckRequest, ERROR_EXIT_CODE, WhoCanRequest, parse_operation, report, run_check,
    run_who_can, who_can_report,
};
use vaultscope::worker::{PrincipalRef, SessionSettings, SignInMethod, spawn_worker};

/// The vault and, optionally, the one object asked about (both commands).
#[derive(clap::Args)]
struct VaultArgs {
    /// The vault's URI (https://NAME.vault.azure.net/).
    #[arg(long)]
    vault: String,
    /// One secret (object-scoped role assignments count).
    #[arg(long, conflicts_with_all = ["key", "certificate"])]
    secret: Option<String>,
    /// One key.
    #[arg(long, conflicts_with = "certificate")]
    key: Option<String>,
    /// One certificate.
    #[arg(long)]
    certificate: Option<String>,
}

impl VaultArgs {
    /// The vault, the target, and the object type an operation without one means.
    fn parse(&self) -> Result<(VaultUri, Target, ObjectType), CheckError> {
        let vault = VaultUri::parse(&self.vault)
            .map_err(|error| CheckError::BadRequest(format!("--vault: {error}")))?;
        let object = [
            (ObjectType::Secret, &self.secret),
            (ObjectType::Key, &self.key),
            (ObjectType::Certificate, &self.certificate),
        ]
        .into_iter()
        .find_map(|(object_type, name)| name.clone().map(|name| (object_type, name)));
        let default_type = object
            .as_ref()
            .map_or(ObjectType::Secret, |(kind, _)| *kind);
        let target = match object {
            Some((object_type, name)) => Target::Object { object_type, name },
            None => Target::Vault,
        };
        Ok((vault, target, default_type))
    }
}

/// A worker for one command: no saved sign-in, no index (a pipeline keeps nothing).
fn pipeline_worker(
    runtime: &tokio::runtime::Runtime,
    cloud: CloudProfile,
    environment: vaultscope::auth::environment_snapshot::EnvironmentSnapshot,
) -> (
    vaultscope::worker::WorkerHandle,
    std::sync::mpsc::Receiver<vaultscope::worker::Event>,
) {
    let mut settings = SessionSettings::new(cloud);
    settings.environment = environment;
    settings.refresh_tokens = None;
    settings.local_index = None;
    spawn_worker(runtime.handle(), settings, std::sync::Arc::new(|| {}))
}

/// The arguments of `vaultscope check` (sign-in, cloud and emulator options go before `check`).
#[derive(clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    vault: VaultArgs,
    /// The principal: an object id, a service principal's application id, or `me` (who signed in).
    #[arg(long)]
    principal: String,
    /// An operation to check (`get`, `secrets/list`, `keys/sign`, or a data action); repeat for more.
    /// Default: every operation of the object's type (of all types for the vault).
    #[arg(long = "operation", value_name = "OP")]
    operations: Vec<String>,
    /// Print JSON (schema `vaultscope.check/1`, see the README) instead of text.
    #[arg(long)]
    json: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

impl CheckArgs {
    fn request(&self) -> Result<CheckRequest, CheckError> {
        let (vault, target, default_type) = self.vault.parse()?;
        let principal = match self.principal.trim() {
            "" => return Err(CheckError::BadRequest("--principal is empty".into())),
            me if me.eq_ignore_ascii_case("me") => PrincipalRef::Me,
            id => PrincipalRef::Id(id.to_owned()),
        };
        let operations = self
            .operations
            .iter()
            .map(|operation| parse_operation(operation, default_type))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CheckRequest {
            vault,
            target,
            principal,
            operations,
        })
    }
}

/// Runs the check and returns the exit code (0 allowed, 1 denied, 2 error), having printed the answer.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    cloud: CloudProfile,
    environment: vaultscope::auth::environment_snapshot::EnvironmentSnapshot,
    sign_in: SignInMethod,
    args: &CheckArgs,
) -> i32 {
    let answer = args.request().and_then(|request| {
        let (worker, events) = pipeline_worker(runtime, cloud, environment);
        run_check(
            &worker,
            &events,
            sign_in,
            &request,
            Duration::from_secs(args.timeout),
            |prompt| eprintln!("{prompt}"),
        )
    });
    match answer {
        Ok(found) => {
            if args.json {
                println!("{:#}", report::to_json(&found));
            } else {
                println!("{}", report::to_text(&found));
            }
            found.exit_code()
        }
        Err(error) => {
            if args.json {
                println!("{:#}", report::error_json(&error));
            }
            eprintln!("vaultscope check: {error}");
            ERROR_EXIT_CODE
        }
    }
}

/// The arguments of `vaultscope who-can`.
#[derive(clap::Args)]
pub struct WhoCanArgs {
    #[command(flatten)]
    vault: VaultArgs,
    /// The operation (`get`, `secrets/list`, `keys/sign`, or a data action); default: every operation.
    #[arg(long, value_name = "OP")]
    operation: Option<String>,
    /// Print JSON (schema `vaultscope.who-can/1`, see the README).
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV: one row per principal and operation.
    #[arg(long)]
    csv: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

/// Runs who-can and returns the exit code (0 answered, 2 error), having printed the answer.
pub fn run_who(
    runtime: &tokio::runtime::Runtime,
    cloud: CloudProfile,
    environment: vaultscope::auth::environment_snapshot::EnvironmentSnapshot,
    sign_in: SignInMethod,
    args: &WhoCanArgs,
) -> i32 {
    let answer = (|| {
        let (vault, target, default_type) = args.vault.parse()?;
        let operation = args
            .operation
            .as_deref()
            .map(|operation| parse_operation(operation, default_type))
            .transpose()?;
        let (worker, events) = pipeline_worker(runtime, cloud, environment);
        let request = WhoCanRequest {
            vault,
            target,
            operation,
        };
        run_who_can(
            &worker,
            &events,
            sign_in,
            &request,
            Duration::from_secs(args.timeout),
            |prompt| eprintln!("{prompt}"),
        )
    })();
    match answer {
        Ok(found) if args.csv => match who_can_report::to_csv(&found) {
            Ok(text) => {
                print!("{text}");
                0
            }
            Err(error) => {
                eprintln!("vaultscope who-can: {error}");
                ERROR_EXIT_CODE
            }
        },
        Ok(found) => {
            if args.json {
                println!("{:#}", who_can_report::to_json(&found));
            } else {
                println!("{}", who_can_report::to_text(&found));
            }
            0
        }
        Err(error) => {
            if args.json {
                println!(
                    "{:#}",
                    serde_json::json!({"schema": who_can_report::SCHEMA, "error": error.to_string()})
                );
            }
            eprintln!("vaultscope who-can: {error}");
            ERROR_EXIT_CODE
        }
    }
}
