//! Vaultscope's entry point: parses the command line, builds the tokio runtime and starts the GUI against
//! Azure, the GUI against the built-in emulator (`demo`), or the emulator alone (`emulator`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use vaultscope::auth::availability::sign_in_methods;
use vaultscope::auth::device_code::AZURE_CLI_CLIENT_ID;
use vaultscope::auth::environment_snapshot::EnvironmentSnapshot;
use vaultscope::auth::managed_identity::UserAssignedId;
use vaultscope::auth::refresh_store::RefreshTokenStore;
use vaultscope::cloud::CloudProfile;
use vaultscope::emulator::faults::Faults;
use vaultscope::emulator::{Emulator, EmulatorConfig, seed};
use vaultscope::ui::VaultscopeApp;
use vaultscope::ui::app::{REMEMBERED_SIGN_IN_KEY, THEME_KEY, VAULT_BOOKMARKS_KEY};
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
    #[arg(long, value_enum, default_value_t = CloudChoice::Public)]
    cloud: CloudChoice,
    /// Seconds a copied secret value stays on the clipboard (cleared only if it is still ours).
    #[arg(long, global = true, default_value_t = 30)]
    clear_clipboard_after: u64,
    /// How many vaults load at once ("Load all", or several opened quickly).
    #[arg(long, global = true, default_value_t = vaultscope::worker::session::DEFAULT_PARALLEL_VAULT_LOADS)]
    parallel_vault_loads: usize,
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
        /// Added latency per emulator response, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Show the sign-in screen instead of signing in as the demo user. The demo environment then plays
        /// an Azure app: the emulator's managed identity, the CI service principal and a connection string.
        #[arg(long)]
        choose_sign_in: bool,
    },
    /// Run the local Azure emulator alone over HTTPS, for scripts, other clients and benchmarks.
    Emulator {
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
    },
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
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("vaultscope-worker")
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        None => {
            let cloud = match cli.cloud {
                CloudChoice::Public => CloudProfile::azure_public(),
                CloudChoice::China => CloudProfile::azure_china(),
                CloudChoice::UsGovernment => CloudProfile::azure_us_government(),
            };
            let sign_in = cli.sign_in.map(|choice| match choice {
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
            });
            run_gui(
                &runtime,
                cloud,
                sign_in,
                GuiMode::Azure,
                Duration::from_secs(cli.clear_clipboard_after),
                cli.parallel_vault_loads,
            )
        }
        Some(Commands::Demo {
            latency_ms,
            choose_sign_in,
        }) => {
            let mut config = EmulatorConfig::demo()?;
            config.latency = Duration::from_millis(latency_ms);
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
            let result = run_gui(
                &runtime,
                cloud,
                sign_in,
                mode,
                Duration::from_secs(cli.clear_clipboard_after),
                cli.parallel_vault_loads,
            );
            drop(emulator);
            result
        }
        Some(Commands::Emulator {
            port,
            data,
            latency_ms,
            manual_device_approval,
            ca_dir,
            throttle_rate,
            retry_after,
            error_rate,
            drop_rate,
        }) => {
            let seed = match data {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    seed::parse_seed(&text)
                        .with_context(|| format!("invalid seed {}", path.display()))?
                }
                None => seed::parse_seed(seed::DEMO_SEED_JSON)?,
            };
            let config = EmulatorConfig {
                port,
                seed,
                latency: Duration::from_millis(latency_ms),
                auto_approve_device_codes: !manual_device_approval,
                ca_dir,
                faults: Faults {
                    throttle_rate,
                    retry_after_seconds: retry_after,
                    server_error_rate: error_rate,
                    drop_rate,
                },
            };
            runtime.block_on(async {
                let emulator = Emulator::start(config).await?;
                println!(
                    "Vaultscope emulator on https://*.localhost:{}\n{}",
                    emulator.port(),
                    emulator.describe_endpoints()
                );
                println!("Press Ctrl+C to stop.");
                tokio::signal::ctrl_c()
                    .await
                    .context("waiting for Ctrl+C")?;
                emulator.shutdown();
                anyhow::Ok(())
            })
        }
    }
}

/// Real Azure, or the built-in demo (which keeps its own window state and never touches the OS keyring).
#[derive(Clone, PartialEq, Eq)]
enum GuiMode {
    Azure,
    Demo {
        tenant: String,
        /// Variables the demo's sign-in screen sees, as if the app ran on Azure.
        environment: Vec<(String, String)>,
    },
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
    clear_clipboard_after: Duration,
    parallel_vault_loads: usize,
) -> anyhow::Result<()> {
    let icon = eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon.png"))
        .context("the bundled icon is not a valid PNG")?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Vaultscope")
            // The demo keeps its own storage: its vault URIs and sign-in mean nothing to real Azure.
            .with_app_id(match mode {
                GuiMode::Azure => "vaultscope",
                GuiMode::Demo { .. } => "vaultscope-demo",
            })
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 480.0])
            .with_icon(Arc::new(icon)),
        ..Default::default()
    };
    let cloud_label = cloud.display_name().to_owned();
    let mut settings = SessionSettings::new(cloud);
    settings.parallel_vault_loads = parallel_vault_loads.max(1);
    settings.environment = match &mode {
        GuiMode::Azure => EnvironmentSnapshot::from_process(),
        GuiMode::Demo { environment, .. } => EnvironmentSnapshot::from_pairs(environment.clone()),
    };
    if mode == GuiMode::Azure {
        settings.refresh_tokens = match RefreshTokenStore::platform() {
            Ok(store) => Some(store),
            Err(error) => {
                tracing::warn!(%error, "device-code sign-ins will not be remembered");
                None
            }
        };
    }
    let methods = sign_in_methods(&settings.environment, None);
    let remember = mode == GuiMode::Azure;
    let handle = runtime.handle().clone();
    let app_name = match mode {
        GuiMode::Azure => "Vaultscope",
        GuiMode::Demo { .. } => "Vaultscope demo",
    };
    let form = match &mode {
        GuiMode::Azure => SignInForm::default(),
        GuiMode::Demo { tenant, .. } => SignInForm {
            tenant: tenant.clone(),
            client_id: DEMO_CLIENT_ID.to_owned(),
            ..SignInForm::default()
        },
    };
    eframe::run_native(
        app_name,
        options,
        Box::new(move |creation| {
            let context = creation.egui_ctx.clone();
            let (worker, events) = spawn_worker(
                &handle,
                settings,
                Arc::new(move || context.request_repaint()),
            );
            let remembered: Option<(String, String)> = creation
                .storage
                .and_then(|storage| eframe::get_value(storage, REMEMBERED_SIGN_IN_KEY))
                .flatten();
            let bookmarks: VaultBookmarks = creation
                .storage
                .and_then(|storage| eframe::get_value(storage, VAULT_BOOKMARKS_KEY))
                .unwrap_or_default();
            let theme: Option<String> = creation
                .storage
                .and_then(|storage| eframe::get_value(storage, THEME_KEY))
                .flatten();
            // The demo's emulator is new each time, so only real Azure has a sign-in worth resuming.
            let sign_in = sign_in.or_else(|| {
                remembered
                    .filter(|_| remember)
                    .map(|(tenant, client_id)| SignInMethod::SavedDeviceCode { tenant, client_id })
            });
            Ok(Box::new(
                VaultscopeApp::new(worker, events, sign_in, cloud_label)
                    .with_sign_in_methods(methods)
                    .with_sign_in_form(form)
                    .with_clipboard_clear_after(clear_clipboard_after)
                    .with_bookmarks(bookmarks)
                    .with_theme(theme.as_deref()),
            ))
        }),
    )
    .map_err(|error| anyhow::anyhow!("the window could not be opened: {error}"))
}
