//! kube-controller-manager: workload controllers, garbage collection and namespaces.
