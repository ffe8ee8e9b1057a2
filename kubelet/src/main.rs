//! kubelet entry point.

fn main() {}
