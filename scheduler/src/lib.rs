//! kube-scheduler: places pods on nodes with upstream's scheduling framework.
