//! What every rustkube daemon shares, as upstream's `k8s.io/component-base`:
//! logging, shutdown on SIGTERM, HTTPS serving, `/healthz` `/livez` `/readyz`
//! and `/metrics`, Lease-based leader election, and API clients built from a
//! kubeconfig.

pub mod authn;
pub mod client;
pub mod duration;
pub mod health;
pub mod leader_election;
pub mod options;
pub mod serving;
pub mod shutdown;
pub mod telemetry;
