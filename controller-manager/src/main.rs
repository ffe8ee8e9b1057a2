//! kube-controller-manager entry point.

fn main() {}
