//! API clients for daemons: from `--kubeconfig`, else the in-cluster
//! environment, else `KUBECONFIG` / `~/.kube/config` (kube-rs' inference).

use std::path::Path;

/// Errors building a client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading kubeconfig {path}: {source}")]
    KubeconfigRead {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("loading client configuration from {path}: {source}")]
    ConfigLoad {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("inferring client configuration: {0}")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("building the API client: {0}")]
    Build(#[source] kube::Error),
}

/// Loads the client configuration for a daemon.
pub async fn config(kubeconfig: Option<&Path>) -> Result<kube::Config, Error> {
    match kubeconfig {
        Some(path) => {
            let shown = path.display().to_string();
            let file = kube::config::Kubeconfig::read_from(path)
                .map_err(|source| Error::KubeconfigRead { path: shown.clone(), source })?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|source| Error::ConfigLoad { path: shown, source })
        }
        None => kube::Config::infer().await.map_err(Error::Infer),
    }
}

/// Builds a client for a daemon, naming it in the `User-Agent` as upstream does.
pub async fn client(kubeconfig: Option<&Path>, user_agent: &str) -> Result<kube::Client, Error> {
    client_from(config(kubeconfig).await?, user_agent)
}

/// Builds a client from a loaded configuration, naming it in the `User-Agent`.
pub fn client_from(mut config: kube::Config, user_agent: &str) -> Result<kube::Client, Error> {
    if let Ok(v) = user_agent.parse() {
        config.headers.push((hyper::header::USER_AGENT, v));
    }
    kube::Client::try_from(config).map_err(Error::Build)
}
