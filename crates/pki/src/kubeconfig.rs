//! Kubeconfig files in upstream's `v1` `Config` format, as kubectl and client-go read them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::authority::IssuedCert;
use crate::files::{PRIVATE_MODE, write_atomic};

/// `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong reading or writing a kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading kubeconfig {path} failed")]
    ReadFailed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing kubeconfig {path} failed")]
    ParseFailed {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("parsing kubeconfig YAML failed")]
    InvalidYaml(#[source] serde_yaml::Error),
    #[error("serializing kubeconfig failed")]
    SerializeFailed(#[source] serde_yaml::Error),
    #[error("writing kubeconfig {path} failed")]
    WriteFailed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Fields this module does not model, kept so that load → write loses nothing.
pub type Extra = BTreeMap<String, serde_yaml::Value>;

/// A kubeconfig (`apiVersion: v1`, `kind: Config`). Fields appear in the order kubectl writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kubeconfig {
    #[serde(rename = "apiVersion", default = "api_version")]
    pub api_version: String,
    #[serde(default)]
    pub clusters: Vec<NamedCluster>,
    #[serde(default)]
    pub contexts: Vec<NamedContext>,
    #[serde(rename = "current-context", default)]
    pub current_context: String,
    #[serde(default = "kind")]
    pub kind: String,
    #[serde(default)]
    pub preferences: Preferences,
    #[serde(default)]
    pub users: Vec<NamedAuthInfo>,
    #[serde(flatten)]
    pub extra: Extra,
}

fn api_version() -> String {
    "v1".to_owned()
}

fn kind() -> String {
    "Config".to_owned()
}

/// `preferences`; written as `{}` when empty, as kubectl does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedCluster {
    pub name: String,
    pub cluster: Cluster,
}

/// How to reach and trust an apiserver.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub server: String,
    #[serde(rename = "certificate-authority", default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// The CA bundle, PEM (base64 in the file).
    #[serde(
        rename = "certificate-authority-data",
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_data"
    )]
    pub certificate_authority_data: Option<Vec<u8>>,
    #[serde(rename = "tls-server-name", default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    #[serde(rename = "insecure-skip-tls-verify", default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedAuthInfo {
    pub name: String,
    pub user: AuthInfo,
}

/// Client credentials.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthInfo {
    #[serde(rename = "client-certificate", default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    /// Client certificate, PEM (base64 in the file).
    #[serde(
        rename = "client-certificate-data",
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_data"
    )]
    pub client_certificate_data: Option<Vec<u8>>,
    #[serde(rename = "client-key", default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// Client private key, PEM (base64 in the file).
    #[serde(rename = "client-key-data", default, skip_serializing_if = "Option::is_none", with = "base64_data")]
    pub client_key_data: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(rename = "tokenFile", default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl std::fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |present: bool| if present { Some("<redacted>") } else { None };
        f.debug_struct("AuthInfo")
            .field("client_certificate", &self.client_certificate)
            .field(
                "client_certificate_data",
                &self.client_certificate_data.as_ref().map(|d| String::from_utf8_lossy(d)),
            )
            .field("client_key", &self.client_key)
            .field("client_key_data", &redacted(self.client_key_data.is_some()))
            .field("token", &redacted(self.token.is_some()))
            .field("token_file", &self.token_file)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedContext {
    pub name: String,
    pub context: Context,
}

/// A (cluster, user, namespace) triple.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    pub cluster: String,
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A kubeconfig that authenticates to `server_url` as `user_name` with a client certificate,
/// trusting `ca_pem`; its one context, `USER@CLUSTER`, is current (kubeadm's naming).
pub fn for_client_cert(
    cluster_name: &str,
    server_url: &str,
    ca_pem: &str,
    user_name: &str,
    cert: &IssuedCert,
) -> Kubeconfig {
    let user = AuthInfo {
        client_certificate_data: Some(cert.cert_pem.clone().into_bytes()),
        client_key_data: Some(cert.key_pem.clone().into_bytes()),
        ..AuthInfo::default()
    };
    single(cluster_name, server_url, ca_pem, user_name, user)
}

/// A kubeconfig that authenticates with a bearer token (bootstrap and service-account tokens).
pub fn for_token(cluster_name: &str, server_url: &str, ca_pem: &str, user_name: &str, token: &str) -> Kubeconfig {
    let user = AuthInfo { token: Some(token.to_owned()), ..AuthInfo::default() };
    single(cluster_name, server_url, ca_pem, user_name, user)
}

fn single(cluster_name: &str, server_url: &str, ca_pem: &str, user_name: &str, user: AuthInfo) -> Kubeconfig {
    let context_name = format!("{user_name}@{cluster_name}");
    Kubeconfig {
        api_version: api_version(),
        clusters: vec![NamedCluster {
            name: cluster_name.to_owned(),
            cluster: Cluster {
                server: server_url.to_owned(),
                certificate_authority_data: Some(ca_pem.as_bytes().to_vec()),
                ..Cluster::default()
            },
        }],
        contexts: vec![NamedContext {
            name: context_name.clone(),
            context: Context { cluster: cluster_name.to_owned(), user: user_name.to_owned(), ..Context::default() },
        }],
        current_context: context_name,
        kind: kind(),
        preferences: Preferences::default(),
        users: vec![NamedAuthInfo { name: user_name.to_owned(), user }],
        extra: Extra::new(),
    }
}

impl Kubeconfig {
    /// Writes the kubeconfig as YAML with mode 0600, replacing `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let yaml = self.to_yaml()?;
        write_atomic(path, yaml.as_bytes(), PRIVATE_MODE)
            .map_err(|source| Error::WriteFailed { path: path.to_owned(), source })?;
        tracing::debug!(path = %path.display(), "wrote kubeconfig");
        Ok(())
    }

    /// Reads a kubeconfig file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|source| Error::ReadFailed { path: path.to_owned(), source })?;
        serde_yaml::from_str(&text).map_err(|source| Error::ParseFailed { path: path.to_owned(), source })
    }

    /// Parses kubeconfig YAML (or JSON, which is YAML).
    pub fn from_yaml(text: &str) -> Result<Self> {
        serde_yaml::from_str(text).map_err(Error::InvalidYaml)
    }

    /// The kubeconfig as YAML.
    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml::to_string(self).map_err(Error::SerializeFailed)
    }

    /// The current context, if it names one that exists.
    pub fn current(&self) -> Option<&Context> {
        self.context(&self.current_context)
    }

    pub fn context(&self, name: &str) -> Option<&Context> {
        self.contexts.iter().find(|c| c.name == name).map(|c| &c.context)
    }

    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name).map(|c| &c.cluster)
    }

    pub fn user(&self, name: &str) -> Option<&AuthInfo> {
        self.users.iter().find(|u| u.name == name).map(|u| &u.user)
    }
}

/// `[]byte` fields: base64 (standard alphabet, padded) in the file, raw bytes in memory.
mod base64_data {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(data: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        match data {
            Some(bytes) => serializer.serialize_str(&STANDARD.encode(bytes)),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
        // Go's decoder skips newlines inside the value; do the same for wrapped values.
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD.decode(compact).map(Some).map_err(D::Error::custom)
    }
}
