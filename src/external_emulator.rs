//! Reaching a `vaultscope emulator` started separately: its URL and CA, and the environment file it writes
//! (`--env-file`) with every variable a client needs — the emulator's own URL and CA, the Entra authority,
//! a service principal, the managed-identity endpoints (App Service, legacy `MSI_*`, IMDS host) and the CA
//! bundle variables Python clients and the Azure CLI read. The app, the tests and the benchmarks read it.

use std::path::{Path, PathBuf};

use crate::cloud::{CloudError, CloudProfile};

/// The variable naming the emulator's base URL (`https://localhost:PORT`).
pub const URL_VARIABLE: &str = "VAULTSCOPE_EMULATOR_URL";
/// The variable naming the emulator's CA certificate file (PEM).
pub const CA_VARIABLE: &str = "VAULTSCOPE_EMULATOR_CA";

/// What went wrong reaching an external emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExternalEmulatorError {
    #[error(
        "{url} is not an emulator URL: expected https://localhost:PORT (or https://<name>.localhost:PORT, https://127.0.0.1:PORT)"
    )]
    NotAnEmulatorUrl { url: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {problem}")]
    EnvFile {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error(
        "{path} does not name {variable}; is it the file `vaultscope emulator --env-file` wrote?"
    )]
    Missing {
        path: PathBuf,
        variable: &'static str,
    },
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

/// A separately started emulator: where it listens, the CA to trust, and the variables it printed.
#[derive(Clone)]
pub struct ExternalEmulator {
    pub port: u16,
    pub ca_pem: String,
    /// The environment of an app "running in" the emulator (empty when only a URL and CA were given).
    pub environment: Vec<(String, String)>,
}

impl std::fmt::Debug for ExternalEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .environment
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        f.debug_struct("ExternalEmulator")
            .field("port", &self.port)
            .field("variables", &names)
            .finish_non_exhaustive()
    }
}

impl ExternalEmulator {
    /// From `--emulator URL --emulator-ca FILE`.
    pub fn from_url_and_ca(url: &str, ca_path: &Path) -> Result<Self, ExternalEmulatorError> {
        Ok(Self {
            port: emulator_port(url)?,
            ca_pem: read(ca_path)?,
            environment: Vec::new(),
        })
    }

    /// From the file `vaultscope emulator --env-file FILE` wrote.
    pub fn from_env_file(path: &Path) -> Result<Self, ExternalEmulatorError> {
        let environment = parse_env_file(&read(path)?).map_err(|(line, problem)| {
            ExternalEmulatorError::EnvFile {
                path: path.to_owned(),
                line,
                problem,
            }
        })?;
        let value = |variable: &'static str| {
            environment
                .iter()
                .find(|(name, _)| name == variable)
                .map(|(_, value)| value.clone())
                .ok_or_else(|| ExternalEmulatorError::Missing {
                    path: path.to_owned(),
                    variable,
                })
        };
        let port = emulator_port(&value(URL_VARIABLE)?)?;
        let ca_pem = read(Path::new(&value(CA_VARIABLE)?))?;
        Ok(Self {
            port,
            ca_pem,
            environment,
        })
    }

    /// From `VAULTSCOPE_EMULATOR_URL` and `VAULTSCOPE_EMULATOR_CA` in `lookup` (the benchmarks' way);
    /// `None` when the URL is not set.
    pub fn from_variables(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Option<Result<Self, ExternalEmulatorError>> {
        let url = lookup(URL_VARIABLE)?;
        Some(match lookup(CA_VARIABLE) {
            Some(ca) => Self::from_url_and_ca(&url, Path::new(&ca)),
            None => Err(ExternalEmulatorError::Missing {
                path: PathBuf::from("the environment"),
                variable: CA_VARIABLE,
            }),
        })
    }

    /// The `Local` cloud profile pointing at this emulator.
    pub fn cloud_profile(&self) -> Result<CloudProfile, ExternalEmulatorError> {
        Ok(CloudProfile::local(self.port, &self.ca_pem)?)
    }
}

fn read(path: &Path) -> Result<String, ExternalEmulatorError> {
    std::fs::read_to_string(path).map_err(|source| ExternalEmulatorError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The port of an emulator URL: HTTPS on `localhost`, a `*.localhost` name or 127.0.0.1, with a port.
pub fn emulator_port(url: &str) -> Result<u16, ExternalEmulatorError> {
    let refuse = || ExternalEmulatorError::NotAnEmulatorUrl {
        url: url.to_owned(),
    };
    let parsed = url::Url::parse(url).map_err(|_| refuse())?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        _ => false,
    };
    match (parsed.scheme(), loopback, parsed.port()) {
        ("https", true, Some(port)) if port != 0 => Ok(port),
        _ => Err(refuse()),
    }
}

/// `NAME=value` lines, `#` comments and blank lines; a value in single quotes is taken as written.
fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut variables = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            return Err((index + 1, format!("expected NAME=value, found {line:?}")));
        };
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        if !valid_name {
            return Err((index + 1, format!("{name:?} is not a variable name")));
        }
        let value = match value.strip_prefix('\'') {
            Some(quoted) => quoted
                .strip_suffix('\'')
                .ok_or_else(|| (index + 1, "an unclosed single quote".to_owned()))?
                .replace("'\\''", "'"),
            None => value.to_owned(),
        };
        variables.push((name.to_owned(), value));
    }
    Ok(variables)
}

/// The variables as an environment file a POSIX shell can source (`set -a; . FILE; set +a`) and
/// [`ExternalEmulator::from_env_file`] reads back; values with anything but plain characters are quoted.
pub fn render_env_file(header: &str, variables: &[(String, String)]) -> String {
    let mut text = String::new();
    for line in header.lines() {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    for (name, value) in variables {
        let plain = value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.,:/@%+=".contains(&byte));
        if plain && !value.is_empty() {
            text.push_str(&format!("{name}={value}\n"));
        } else {
            text.push_str(&format!("{name}='{}'\n", value.replace('\'', "'\\''")));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_urls_are_loopback_https_with_a_port() {
        assert_eq!(emulator_port("https://localhost:8443").ok(), Some(8443));
        assert_eq!(emulator_port("https://login.localhost:9/").ok(), Some(9));
        assert_eq!(emulator_port("https://127.0.0.1:47443").ok(), Some(47443));
        for refused in [
            "http://localhost:8443",
            "https://localhost",
            "https://example.com:8443",
            "https://localhost.example.com:8443",
            "https://10.0.0.1:8443",
            "localhost:8443",
        ] {
            assert!(emulator_port(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn env_files_round_trip_and_bad_lines_are_named() {
        let variables = vec![
            ("A".to_owned(), "https://login.localhost:1/x".to_owned()),
            ("B".to_owned(), "/tmp/with space/it's".to_owned()),
            ("C".to_owned(), String::new()),
        ];
        let text = render_env_file("made by a test\nsecond line", &variables);
        assert!(text.starts_with("# made by a test\n# second line\n"));
        assert_eq!(parse_env_file(&text), Ok(variables));
        assert_eq!(
            parse_env_file("export X=1\nY=2"),
            Ok(vec![("X".into(), "1".into()), ("Y".into(), "2".into())])
        );
        assert_eq!(parse_env_file("ok=1\nnonsense").map_err(|e| e.0), Err(2));
        assert_eq!(parse_env_file("bad name=1").map_err(|e| e.0), Err(1));
        assert_eq!(parse_env_file("X='open").map_err(|e| e.0), Err(1));
    }
}
