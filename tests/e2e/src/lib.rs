//! End-to-end tests live in `tests/`; this crate has no library code. They
//! start a whole cluster with `rustkube_harness::Cluster` (the code
//! `deploy/local-up.sh` runs) and drive it with the real kubectl.
