//! Test support: a real etcd from the shared harness, and a store on it.

#![allow(dead_code)]

use rustkube_storage::etcd::EtcdStore;

pub use rustkube_harness::etcd::EtcdServer;

/// Starts a real etcd off the async runtime's threads.
pub async fn start_etcd() -> anyhow::Result<EtcdServer> {
    tokio::task::spawn_blocking(EtcdServer::start).await?
}

/// A store connected to `server`.
pub async fn store(server: &EtcdServer) -> anyhow::Result<EtcdStore> {
    Ok(EtcdStore::connect(std::slice::from_ref(&server.endpoint)).await?)
}
