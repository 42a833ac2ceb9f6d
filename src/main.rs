//! Vaultscope's entry point: parses the command line, builds the tokio runtime and starts the GUI against
//! Azure, the GUI against the built-in emulator (`demo`), or the emulator alone (`emulator`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod check_command;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use vaultscope::auth::availability::sign_in_methods;
use vaultscope::auth::device_code::AZURE_CLI_CLIENT_ID;
use vaultscope::auth::environment_snapshot::EnvironmentSnapshot;
use vaultscope::auth::managed_identity::UserAssignedId;
use vaultscope::auth::refresh_store::{RefreshTokenStore, platform_keyring};
use vaultscope::cloud::CloudProfile;
use vaultscope::emulator::faults::Faults;
use vaultscope::emulator::{Emulator, EmulatorConfig, LegacyMsiFlavour, seed};
use vaultscope::external_emulator::ExternalEmulator;
use vaultscope::local_index::{IndexKey, IndexStore};
use vaultscope::ui::VaultscopeApp;
use vaultscope::ui::app::{REMEMBERED_SIGN_IN_KEY, THEME_KEY, VAULT_BOOKMARKS_KEY};
use vaultscope::ui::state::IndexMode;
use vaultscope::ui::state::SignInForm;
use vaultscope::ui::state::bookmarks::VaultBookmarks;
use vaultscope::worker::{SessionSettings, SignInMethod, spawn_worker};

/// The demo's CI service principal (ci-pipeline in `assets/demo-cloud.json`) and its seeded demo secret.
const DEMO_CI_CLIENT_ID: &str = "be5b3a4f-9c8d-4f77-9a2b-7e8d9cab1ac8";
const DEMO_CI_SECRET: &str = "demo-ci-secret-not-for-production";

/// The public client id the demo signs in with (the emulator accepts any public client).
const DEMO_CLIENT_ID: &str = "5e1c0d4a-9b7f-4d2e-8a63-0c1e2d3f4a5b";

#[derive(Parser)]
#[command(
    name = "vaultscope",
    version,
    about = "A fast desktop explorer for Azure Key Vault"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Commands>,
    /// How to sign in to Azure (default: the saved sign-in if there is one, else the sign-in screen).
    #[arg(long, value_enum)]
    sign_in: Option<SignInChoice>,
    /// Tenant for the Azure CLI (default: its current tenant) or the device code (default: organizations).
    #[arg(long)]
    tenant: Option<String>,
    /// Public client (application) id for the device code sign-in (default: the Azure CLI's).
    #[arg(long, default_value = AZURE_CLI_CLIENT_ID)]
    client_id: String,
    /// User-assigned managed identity: its client id, `object:<object id>`, or its resource id
    /// (default: the system-assigned identity).
    #[arg(long)]
    identity: Option<String>,
    /// The Azure cloud.
    #[arg(long, value_enum, default_value_t = CloudChoice::Public, conflicts_with_all = ["emulator", "emulator_env"])]
    cloud: CloudChoice,
    /// Use a `vaultscope emulator` started separately, at this URL (https://localhost:PORT), instead of
    /// Azure; needs --emulator-ca.
    #[arg(
        long,
        value_name = "URL",
        requires = "emulator_ca",
        conflicts_with = "emulator_env"
    )]
    emulator: Option<String>,
    /// The CA certificate (ca.pem) of the emulator named by --emulator.
    #[arg(long, value_name = "FILE", requires = "emulator")]
    emulator_ca: Option<PathBuf>,
    /// Use a `vaultscope emulator` started separately, from the file it wrote with --env-file (its URL,
    /// CA, service principal and managed-identity endpoints).
    #[arg(long, value_name = "FILE")]
    emulator_env: Option<PathBuf>,
    #[command(flatten)]
    gui: GuiOptions,
}

/// Options of the window (not of the emulator alone).
#[derive(clap::Args, Clone, Copy)]
struct GuiOptions {
    /// Seconds a copied secret value stays on the clipboard (cleared only if it is still ours)
    /// [default: 30].
    #[arg(long)]
    clear_clipboard_after: Option<u64>,
    /// At most this many vaults load at once (default: as many as the service allows, narrowed on
    /// throttling).
    #[arg(long)]
    parallel_vault_loads: Option<usize>,
    /// Hide every control that changes anything (browse, check access and copy only).
    #[arg(long)]
    read_only: bool,
    /// Keep no local index: nothing about vaults is written to disk, and each launch starts empty.
    #[arg(long)]
    no_index: bool,
}

impl GuiOptions {
    /// These options, else those given before the subcommand.
    fn or(self, outer: GuiOptions) -> GuiOptions {
        GuiOptions {
            clear_clipboard_after: self.clear_clipboard_after.or(outer.clear_clipboard_after),
            parallel_vault_loads: self.parallel_vault_loads.or(outer.parallel_vault_loads),
            read_only: self.read_only || outer.read_only,
            no_index: self.no_index || outer.no_index,
        }
    }

    fn clear_clipboard_after(self) -> Duration {
        Duration::from_secs(self.clear_clipboard_after.unwrap_or(30))
    }
}

/// The demo emulator's port when it is free.
const DEMO_PORT: u16 = 47_443;

/// The sign-in methods of `--sign-in`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum SignInChoice {
    /// The signed-in Azure CLI (`az login` first).
    AzureCli,
    /// A code to enter at the cloud's device login page.
    DeviceCode,
    /// The managed identity of this VM, App Service, Function, AKS pod or Container App.
    ManagedIdentity,
    /// AZURE_TENANT_ID + AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE.
    Environment,
    /// The AzureServicesAuthConnectionString environment variable.
    ConnectionString,
}

/// The clouds of `--cloud`, named as `az cloud list` names them.
#[derive(Clone, Copy, clap::ValueEnum)]
enum CloudChoice {
    #[value(name = "AzureCloud")]
    Public,
    #[value(name = "AzureChinaCloud")]
    China,
    #[value(name = "AzureUSGovernment")]
    UsGovernment,
}

#[derive(Subcommand)]
enum Commands {
    /// Open the explorer on the built-in emulator with demo data; no Azure account needed.
    Demo {
        /// Seed file (default: the bundled demo cloud; `vaultscope emulator --data` takes the same).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Added latency per emulator response, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// How long access changes take to reach the emulated data plane, in milliseconds (Azure RBAC
        /// takes minutes).
        #[arg(long, default_value_t = 0)]
        propagation_ms: u64,
        /// Show the sign-in screen instead of signing in as the demo user. The demo environment then plays
        /// an Azure app: the emulator's managed identity, the CI service principal and a connection string.
        #[arg(long)]
        choose_sign_in: bool,
        #[command(flatten)]
        gui: GuiOptions,
    },
    /// Run the local Azure emulator alone over HTTPS, for scripts, other clients and benchmarks.
    Emulator(EmulatorArgs),
    /// Check what a principal may do on a vault, for pipelines: the explorer's verdicts, paths and fixes;
    /// exit 0 when every operation asked about is allowed, 1 when one is denied, 2 on an error. Sign-in,
    /// cloud and emulator options go before `check` (default sign-in: the environment's connection
    /// string, service principal or managed identity, else the Azure CLI).
    Check(check_command::CheckArgs),
    /// Who may perform an operation on a vault or one secret, key or certificate, and by which path:
    /// groups expanded, PIM-eligible apart, self-granters flagged; as text, JSON or CSV.
    WhoCan(check_command::WhoCanArgs),
}

/// The options of `vaultscope emulator`.
#[derive(clap::Args)]
struct EmulatorArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8443)]
    port: u16,
    /// Seed file (default: the bundled demo cloud).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Added latency per response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Require device codes to be approved (instead of approving them at once for the demo user).
    #[arg(long)]
    manual_device_approval: bool,
    /// Directory for ca.pem (default: a temporary directory removed on exit).
    #[arg(long)]
    ca_dir: Option<PathBuf>,
    /// Also write the client variables it prints to this file (owner-only), for `set -a; . FILE` or
    /// `vaultscope --emulator-env FILE`.
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Fraction of ARM, Graph and Key Vault requests answered 429 with Retry-After (0.0–1.0).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    throttle_rate: f64,
    /// Retry-After of the injected 429s, in seconds.
    #[arg(long, default_value_t = 1)]
    retry_after: u32,
    /// Fraction of ARM, Graph and Key Vault requests answered 500 or 503 (0.0–1.0).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    error_rate: f64,
    /// Fraction of ARM, Graph and Key Vault connections dropped without an answer (0.0–1.0).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    drop_rate: f64,
    /// How long access changes take to reach the data plane, in milliseconds (Azure RBAC takes minutes).
    #[arg(long, default_value_t = 0)]
    propagation_ms: u64,
    /// `azure`: each vault throttles at Key Vault's published limits (secret writes 300, key creation 20,
    /// other calls 4,000 per 10 s), so bulk runs meet realistic 429s.
    #[arg(long, value_enum, default_value_t = ThrottleModel::None)]
    throttle_model: ThrottleModel,
    /// Keep the CA, the token signing key and every write (secrets, versions, policies, role
    /// assignments) in DIR across restarts; without it everything stays in memory.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Which 2017-09-01 answer MSI_ENDPOINT names: `app-service` (expires_on as a date, for the
    /// AppAuthentication era) or `azure-ml` (seconds, what today's SDKs expect when only the legacy pair
    /// is set). IDENTITY_ENDPOINT serves today's App Service clients either way.
    #[arg(long, value_enum, default_value_t = MsiFlavour::AppService)]
    msi_flavour: MsiFlavour,
}

/// The `--msi-flavour` choices.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MsiFlavour {
    AppService,
    AzureMl,
}

/// How the emulator throttles.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ThrottleModel {
    /// Only the injected faults (`--throttle-rate`).
    None,
    /// Key Vault's per-vault limits.
    Azure,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("'{text}' is not a rate between 0.0 and 1.0")),
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,vaultscope=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("vaultscope-worker")
        .build()
        .context("cannot start the async runtime")?;
    match cli.command.take() {
        None => gui_command(&runtime, &cli),
        Some(Commands::Demo {
            data,
            latency_ms,
            propagation_ms,
            choose_sign_in,
            gui,
        }) => demo_command(
            &runtime,
            DemoOptions {
                data: data.as_deref(),
                latency: Duration::from_millis(latency_ms),
                propagation: Duration::from_millis(propagation_ms),
                choose_sign_in,
            },
            gui.or(cli.gui),
        ),
        Some(Commands::Emulator(args)) => emulator_command(&runtime, args),
        Some(command @ (Commands::Check(_) | Commands::WhoCan(_))) => {
            let code = match target_cloud(&cli) {
                Ok((cloud, mode)) => {
                    let environment = mode.environment();
                    let sign_in = sign_in_choice(&cli).unwrap_or_else(|| {
                        vaultscope::pipeline_check::default_sign_in(
                            &environment,
                            cli.identity.as_deref().and_then(UserAssignedId::parse),
                        )
                    });
                    match &command {
                        Commands::WhoCan(args) => {
                            check_command::run_who(&runtime, cloud, environment, sign_in, args)
                        }
                        Commands::Check(args) => {
                            check_command::run(&runtime, cloud, environment, sign_in, args)
                        }
                        _ => vaultscope::pipeline_check::ERROR_EXIT_CODE,
                    }
                }
                Err(error) => {
                    eprintln!("vaultscope check: {error:#}");
                    vaultscope::pipeline_check::ERROR_EXIT_CODE
                }
            };
            drop(runtime);
            std::process::exit(code);
        }
    }
}

/// The window against Azure, or against an emulator started separately.
fn gui_command(runtime: &tokio::runtime::Runtime, cli: &Cli) -> anyhow::Result<()> {
    let (cloud, mode) = target_cloud(cli)?;
    run_gui(runtime, cloud, sign_in_choice(cli), mode, cli.gui)
}

/// The cloud the options name: Azure's (`--cloud`) or a separate emulator (`--emulator`, `--emulator-env`).
fn target_cloud(cli: &Cli) -> anyhow::Result<(CloudProfile, GuiMode)> {
    let external = match (&cli.emulator, &cli.emulator_ca, &cli.emulator_env) {
        (Some(url), Some(ca), _) => Some(ExternalEmulator::from_url_and_ca(url, ca)?),
        (_, _, Some(file)) => Some(ExternalEmulator::from_env_file(file)?),
        _ => None,
    };
    let (cloud, mode) = match external {
        Some(emulator) => (
            emulator.cloud_profile()?,
            GuiMode::External {
                environment: emulator.environment,
            },
        ),
        None => (
            match cli.cloud {
                CloudChoice::Public => CloudProfile::azure_public(),
                CloudChoice::China => CloudProfile::azure_china(),
                CloudChoice::UsGovernment => CloudProfile::azure_us_government(),
            },
            GuiMode::Azure,
        ),
    };
    Ok((cloud, mode))
}

/// The sign-in `--sign-in` names, if any.
fn sign_in_choice(cli: &Cli) -> Option<SignInMethod> {
    cli.sign_in.map(|choice| match choice {
        SignInChoice::AzureCli => SignInMethod::AzureCli {
            tenant_id: cli.tenant.clone(),
        },
        SignInChoice::DeviceCode => SignInMethod::DeviceCode {
            tenant: cli
                .tenant
                .clone()
                .unwrap_or_else(|| "organizations".to_owned()),
            client_id: cli.client_id.clone(),
        },
        SignInChoice::ManagedIdentity => SignInMethod::ManagedIdentity {
            user_assigned: cli.identity.as_deref().and_then(UserAssignedId::parse),
        },
        SignInChoice::Environment => SignInMethod::EnvironmentServicePrincipal,
        SignInChoice::ConnectionString => SignInMethod::ConnectionString,
    })
}

/// What `vaultscope demo` was asked for.
struct DemoOptions<'a> {
    data: Option<&'a std::path::Path>,
    latency: Duration,
    propagation: Duration,
    choose_sign_in: bool,
}

/// The window against the built-in emulator (bundled or `--data` seed), signed in as the demo user.
fn demo_command(
    runtime: &tokio::runtime::Runtime,
    options: DemoOptions<'_>,
    gui: GuiOptions,
) -> anyhow::Result<()> {
    let DemoOptions {
        data,
        latency,
        propagation,
        choose_sign_in,
    } = options;
    let mut config = EmulatorConfig::demo()?;
    if let Some(path) = data {
        config.seed = read_seed(path)?;
    }
    config.latency = latency;
    config.access_propagation = propagation;
    // A fixed port keeps the demo's vault URIs (recent and pinned vaults) the same across runs;
    // when it is taken, any free port.
    config.port = DEMO_PORT;
    let emulator = match runtime.block_on(Emulator::start(config.clone())) {
        Ok(emulator) => emulator,
        Err(error) => {
            tracing::info!(%error, port = DEMO_PORT, "the demo port is taken; using a free one");
            config.port = 0;
            runtime
                .block_on(Emulator::start(config))
                .context("cannot start the built-in emulator")?
        }
    };
    let cloud = emulator.cloud_profile()?;
    let sign_in = SignInMethod::DeviceCode {
        tenant: emulator.demo_tenant_id(),
        client_id: DEMO_CLIENT_ID.to_owned(),
    };
    let mode = GuiMode::Demo {
        tenant: emulator.demo_tenant_id(),
        environment: demo_environment(&emulator),
    };
    let sign_in = (!choose_sign_in).then_some(sign_in);
    let result = run_gui(runtime, cloud, sign_in, mode, gui);
    drop(emulator);
    result
}

fn read_seed(path: &std::path::Path) -> anyhow::Result<seed::Seed> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    seed::parse_seed(&text).with_context(|| format!("invalid seed {}", path.display()))
}

/// The emulator alone until Ctrl+C; prints (and with --env-file writes) what a client needs.
fn emulator_command(runtime: &tokio::runtime::Runtime, args: EmulatorArgs) -> anyhow::Result<()> {
    let seed = match &args.data {
        Some(path) => read_seed(path)?,
        None => seed::parse_seed(seed::DEMO_SEED_JSON)?,
    };
    let config = EmulatorConfig {
        port: args.port,
        seed,
        latency: Duration::from_millis(args.latency_ms),
        auto_approve_device_codes: !args.manual_device_approval,
        ca_dir: args.ca_dir,
        faults: Faults {
            throttle_rate: args.throttle_rate,
            retry_after_seconds: args.retry_after,
            server_error_rate: args.error_rate,
            drop_rate: args.drop_rate,
            ..Faults::default()
        },
        certificate_issuance: vaultscope::emulator::DEFAULT_CERTIFICATE_ISSUANCE,
        access_propagation: Duration::from_millis(args.propagation_ms),
        azure_throttling: args.throttle_model == ThrottleModel::Azure,
        connection_timeout: vaultscope::emulator::DEFAULT_CONNECTION_TIMEOUT,
        legacy_msi_flavour: match args.msi_flavour {
            MsiFlavour::AppService => LegacyMsiFlavour::AppService,
            MsiFlavour::AzureMl => LegacyMsiFlavour::AzureMachineLearning,
        },
        state_dir: args.state_dir,
    };
    runtime.block_on(async {
        let emulator = Emulator::start(config).await?;
        let environment = emulator.client_environment_file();
        if let Some(path) = &args.env_file {
            write_owner_only(path, &environment)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        println!("{environment}");
        if let Some(path) = &args.env_file {
            println!("# Written to {}", path.display());
        }
        println!("# Press Ctrl+C to stop.");
        wait_for_stop_signal().await?;
        emulator.shutdown();
        // Dropping the emulator removes its temporary CA directory, on SIGTERM as on Ctrl+C.
        drop(emulator);
        anyhow::Ok(())
    })
}

/// Waits for Ctrl+C (SIGINT) or, on Unix, SIGTERM (what `kill`, systemd and container runtimes send).
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("listening for SIGTERM")?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.context("waiting for Ctrl+C")?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl+C")?;
    Ok(())
}

/// Writes `text` readable by the owner only (it holds the demo service principal's secret and the
/// managed-identity header).
fn write_owner_only(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())
}

/// Real Azure, an emulator started separately, or the built-in demo (which keeps its own window state and
/// never touches the OS keyring).
#[derive(Clone, PartialEq, Eq)]
enum GuiMode {
    Azure,
    /// `--emulator`/`--emulator-env`: the normal app against a separate emulator.
    External {
        /// Variables from the emulator's `--env-file`, over the process environment.
        environment: Vec<(String, String)>,
    },
    Demo {
        tenant: String,
        /// Variables the demo's sign-in screen sees, as if the app ran on Azure.
        environment: Vec<(String, String)>,
    },
}

impl GuiMode {
    /// The eframe app id: the demo and an emulator keep their own storage, since their vault URIs and
    /// sign-ins mean nothing to real Azure.
    fn app_id(&self) -> &'static str {
        match self {
            GuiMode::Azure => "vaultscope",
            GuiMode::External { .. } => "vaultscope-emulator",
            GuiMode::Demo { .. } => "vaultscope-demo",
        }
    }

    fn window_title(&self) -> &'static str {
        match self {
            GuiMode::Azure => "Vaultscope",
            GuiMode::External { .. } => "Vaultscope (emulator)",
            GuiMode::Demo { .. } => "Vaultscope demo",
        }
    }

    /// What the credential sources see of the environment.
    fn environment(&self) -> EnvironmentSnapshot {
        match self {
            GuiMode::Azure => EnvironmentSnapshot::from_process(),
            GuiMode::External { environment } => {
                EnvironmentSnapshot::from_process().overlaid_with(environment.clone())
            }
            GuiMode::Demo { environment, .. } => {
                EnvironmentSnapshot::from_pairs(environment.clone())
            }
        }
    }

    /// Whether a device-code sign-in is kept in the keyring and resumed next time (not for the demo,
    /// whose emulator is new each run).
    fn remembers_sign_in(&self) -> bool {
        !matches!(self, GuiMode::Demo { .. })
    }
}

/// The environment of an app "running in" the emulator: its managed identity endpoints, the CI service
/// principal (a demo secret, seeded) and a connection string naming the managed identity.
fn demo_environment(emulator: &Emulator) -> Vec<(String, String)> {
    let mut environment: Vec<(String, String)> = emulator
        .managed_identity_environment()
        .into_iter()
        .filter(|(name, _)| matches!(*name, "IDENTITY_ENDPOINT" | "IDENTITY_HEADER"))
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    environment.extend(
        [
            ("AZURE_TENANT_ID", emulator.demo_tenant_id()),
            ("AZURE_CLIENT_ID", DEMO_CI_CLIENT_ID.to_owned()),
            ("AZURE_CLIENT_SECRET", DEMO_CI_SECRET.to_owned()),
            (
                "AZURE_AUTHORITY_HOST",
                format!("https://login.localhost:{}", emulator.port()),
            ),
            ("AzureServicesAuthConnectionString", "RunAs=App".to_owned()),
        ]
        .map(|(name, value)| (name.to_owned(), value)),
    );
    environment
}

/// Opens the window. `sign_in` `None`: a remembered device-code sign-in if there is one, else the
/// sign-in screen.
fn run_gui(
    runtime: &tokio::runtime::Runtime,
    cloud: CloudProfile,
    sign_in: Option<SignInMethod>,
    mode: GuiMode,
    gui: GuiOptions,
) -> anyhow::Result<()> {
    let icon = eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon.png"))
        .context("the bundled icon is not a valid PNG")?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(mode.window_title())
            .with_app_id(mode.app_id())
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 480.0])
            .with_icon(Arc::new(icon)),
        ..Default::default()
    };
    let cloud_label = cloud.display_name().to_owned();
    let portal_host = cloud.portal_host();
    let mut settings = SessionSettings::new(cloud);
    settings.vault_load_cap = gui.parallel_vault_loads.map(|cap| cap.max(1));
    settings.environment = mode.environment();
    let mut keyring_problem =
        (!mode.remembers_sign_in()).then(|| "this mode does not remember sign-ins".to_owned());
    if mode.remembers_sign_in() {
        settings.refresh_tokens = match RefreshTokenStore::platform() {
            Ok(store) => Some(store),
            Err(error) => {
                tracing::warn!(%error, "device-code sign-ins will not be remembered");
                keyring_problem = Some(error.to_string());
                None
            }
        };
    }
    let has_keyring = settings.refresh_tokens.is_some();
    let (index_mode, index_store) = open_local_index(mode.app_id(), gui.no_index);
    settings.local_index = index_store.clone();
    // Read on another thread while the window opens: the last identity's index of this cloud.
    let index_cloud = cloud_label.clone();
    let preload = index_store.map(|store| {
        let cloud = index_cloud.clone();
        std::thread::spawn(move || {
            let dir = store.last_identity_dir(&cloud)?;
            let started = std::time::Instant::now();
            let loaded = store.load_dir(&dir);
            tracing::info!(
                vaults = loaded.vaults.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "local index read"
            );
            Some((dir, loaded))
        })
    });
    let methods = sign_in_methods(&settings.environment, None, keyring_problem.as_deref());
    let handle = runtime.handle().clone();
    let form = match &mode {
        GuiMode::Demo { tenant, .. } => SignInForm {
            tenant: tenant.clone(),
            client_id: DEMO_CLIENT_ID.to_owned(),
            ..SignInForm::default()
        },
        _ => SignInForm::default(),
    };
    eframe::run_native(
        mode.window_title(),
        options,
        Box::new(move |creation| {
            let context = creation.egui_ctx.clone();
            close_window_on_sigterm(&handle, creation.egui_ctx.clone());
            let (worker, events) = spawn_worker(
                &handle,
                settings,
                Arc::new(move || context.request_repaint()),
            );
            let stored = StoredWindowState::read(creation.storage);
            let preloaded = preload.and_then(|thread| thread.join().ok().flatten());
            let sign_in = sign_in.or_else(|| {
                stored
                    .remembered_sign_in
                    // Without a keyring there is nothing to read: the next launch would fail once.
                    .filter(|_| mode.remembers_sign_in() && has_keyring)
                    .map(|(tenant, client_id)| SignInMethod::SavedDeviceCode { tenant, client_id })
            });
            Ok(Box::new(
                VaultscopeApp::new(worker, events, sign_in, cloud_label)
                    .with_portal(portal_host)
                    .with_sign_in_methods(methods)
                    .with_sign_in_form(form)
                    .with_clipboard_clear_after(gui.clear_clipboard_after())
                    .with_read_only(gui.read_only)
                    .with_local_index(index_mode, index_cloud, preloaded)
                    .with_bookmarks(stored.bookmarks)
                    .with_theme(stored.theme.as_deref()),
            ))
        }),
    )
    .map_err(|error| anyhow::anyhow!("the window could not be opened: {error}"))
}

/// SIGTERM (a logout, `kill`, a service manager) closes the window the normal way, so `on_exit` runs: the
/// clipboard is cleared, the index flushed, the settings saved, the demo's emulator and its temporary CA
/// directory dropped.
fn close_window_on_sigterm(runtime: &tokio::runtime::Handle, context: egui::Context) {
    #[cfg(unix)]
    runtime.spawn(async move {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        if terminate.recv().await.is_some() {
            tracing::info!("SIGTERM: closing the window");
            context.send_viewport_cmd(egui::ViewportCommand::Close);
            context.request_repaint();
        }
    });
    #[cfg(not(unix))]
    let _ = (runtime, context);
}

/// The local index of this data directory (`app_id`'s): off with `--no-index` or without an OS keyring
/// to keep its key in (said once, in the status bar).
fn open_local_index(app_id: &str, disabled: bool) -> (IndexMode, Option<IndexStore>) {
    if disabled {
        return (IndexMode::Disabled, None);
    }
    let Some(root) = eframe::storage_dir(app_id).map(|dir| dir.join("index")) else {
        return (
            IndexMode::NoKeyring("the user's data directory is unknown".to_owned()),
            None,
        );
    };
    let key = platform_keyring()
        .map_err(|error| error.to_string())
        .and_then(|store| {
            IndexKey::from_keyring(&store, app_id).map_err(|error| error.to_string())
        });
    match key {
        Ok(key) => (
            IndexMode::On(root.display().to_string()),
            Some(IndexStore::new(root, key)),
        ),
        Err(reason) => {
            tracing::warn!(%reason, "no local index: there is no OS keyring to keep its key in");
            (IndexMode::NoKeyring(reason), None)
        }
    }
}

/// What eframe kept of the last run: the device-code sign-in to resume (tenant and client id only),
/// recent and pinned vaults, the theme.
struct StoredWindowState {
    remembered_sign_in: Option<(String, String)>,
    bookmarks: VaultBookmarks,
    theme: Option<String>,
}

impl StoredWindowState {
    fn read(storage: Option<&dyn eframe::Storage>) -> Self {
        Self {
            remembered_sign_in: storage
                .and_then(|storage| eframe::get_value(storage, REMEMBERED_SIGN_IN_KEY))
                .flatten(),
            bookmarks: storage
                .and_then(|storage| eframe::get_value(storage, VAULT_BOOKMARKS_KEY))
                .unwrap_or_default(),
            theme: storage
                .and_then(|storage| eframe::get_value(storage, THEME_KEY))
                .flatten(),
        }
    }
}
