//! kubelet: the node agent running pods through CRI (containerd) or a fake runtime.
