//! Kubernetes API machinery shared by every rustkube component.
//!
//! Typed objects come from `k8s-openapi`; this crate adds what the type
//! definitions alone do not give: the resource registry served by the
//! apiserver and published by discovery, label and field selectors,
//! `resource.Quantity` arithmetic, and name/label/annotation validation.
//! It stays light (serde and k8s-openapi only): no async runtime, no HTTP.

pub mod defaulting;
pub mod field_selector;
pub mod kind_validation;
pub mod label_selector;
pub mod quantity;
pub mod registry;
pub mod validation;

pub use field_selector::FieldSelector;
pub use label_selector::LabelSelector;
pub use quantity::Quantity;
pub use registry::{ResourceInfo, Subresource};
