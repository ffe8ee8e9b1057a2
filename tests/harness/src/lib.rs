//! The harness every multi-process test shares: the real binaries of this
//! workspace, a real etcd and the real kubectl, each a child process owned by
//! the test, on free loopback ports, killed on drop, logs printed when the
//! test fails.

pub mod apiserver;
pub mod binaries;
pub mod cluster;
pub mod daemon;
pub mod etcd;
pub mod kubectl;

pub use apiserver::{Apiserver, BACKENDS, Backend};
pub use binaries::binary;
pub use cluster::{Cluster, ClusterBuilder, eventually};
pub use daemon::Daemon;
pub use kubectl::kubectl_binary;
