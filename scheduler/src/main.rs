//! kube-scheduler entry point.

fn main() {}
