//! Kubernetes protobuf bodies (`application/vnd.kubernetes.protobuf`) to and from the JSON form of the
//! same object, so an apiserver that works on JSON can accept what kubectl 1.32+ sends.
//!
//! # Wire format
//! A body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown` message (apimachinery
//! `pkg/runtime/generated.proto`): `typeMeta = 1` (`apiVersion = 1`, `kind = 2`), `raw = 2` (the
//! object's own message from `k8s.io/api/<group>/<version>/generated.proto`), `contentEncoding = 3`,
//! `contentType = 4` (both empty in practice).
//!
//! # How
//! One generic walker ([`decode`](crate::decode()), [`encode`]) reads and writes any message through the
//! Kubernetes 1.33 message definitions, with the special JSON forms handled in one place (`wellknown`):
//! `metav1.Time` (RFC 3339), `MicroTime` (RFC 3339 with microseconds), `Duration` (Go duration string),
//! `resource.Quantity` (string), `IntOrString`, `RawExtension`/`FieldsV1`/apiextensions `JSON` (embedded
//! JSON), `[]byte` (base64), the JSONSchemaProps unions and `$ref`/`x-kubernetes-*` names. Proto field
//! names are the JSON names. Zero values are dropped unless Go's JSON keeps them (`presence`).
//!
//! # Why an embedded descriptor set
//! Rust has no runtime reflection, so a generic walker needs the message definitions as data.
//! Candidates, measured as clean `cargo build --release` on the 2-core machine (another build was
//! running at the time, so wall times are pessimistic):
//! * `k8s-pb` 0.9 (prost structs, Kubernetes 1.34): 1 m 38 s (44 s CPU), but no descriptors and no
//!   serde, so each of ~700 structs would need a hand-written JSON conversion.
//! * `k8s-rs-pb` 0.5 (rust-protobuf 3, feature `v1_33`): 12 m 19 s (8 m 56 s CPU) for 12.9 MB of
//!   generated code, and its embedded descriptors are unusable: every `file_descriptor()` with imports
//!   lists itself as its own dependency (`super::v1::file_descriptor()`), so the first call deadlocks in
//!   its `OnceCell` (checked: `api::apps::v1::file_descriptor()` never returns). Its serde impls also
//!   rewrite quantities (`512Mi` → `536.9MB`).
//! * No crate ships a Kubernetes FileDescriptorSet, and a build script cannot reach another package's
//!   files, so `prost-reflect`/`protox` at build time have nothing to compile.
//!
//! So `schema-gen/` (a standalone developer tool, never built by the workspace) compiles the upstream
//! `generated.proto` files that the `k8s-rs-pb` 0.5.0 package ships for 1.33 with `protox`, without
//! comments, into `schema/kubernetes-v1.33.binpb` (255 KiB), which this crate embeds and parses at
//! first use with its own 200-line wire reader. Runtime dependencies: `serde_json`, `base64`,
//! `thiserror`, all already in the workspace; a clean standalone release build takes 16 s (14 s CPU),
//! nearly all of it those three. Regenerating: `cd schema-gen && cargo run --release --
//! ../schema/kubernetes-v1.33.binpb` (it finds the package through `cargo metadata`).
//!
//! # Zero values
//! Go writes every non-pointer scalar into protobuf, so a body cannot say whether `replicas: 0` was
//! set or defaulted. `presence` holds which fields Go's JSON keeps when zero (pointers such as
//! `replicas`, `runAsUser`, `automountServiceAccountToken`; fields without `omitempty` such as
//! `containerPort`); its rows for everything kubectl's typed commands reach are checked against kubectl
//! itself by the `oracle` test. Go structs embedded with `json:",inline"` (`Volume.volumeSource`,
//! `Probe.handler`, `…KeySelector.localObjectReference`) are nested messages in protobuf and flattened
//! in JSON; the few fields whose proto name differs from the JSON name are renamed (`wellknown`).

mod decode;
mod encode;
mod envelope;
mod presence;
mod schema;
mod timestamp;
mod wellknown;
mod wire;

use serde_json::Value;

/// The media type of Kubernetes protobuf bodies.
pub const PROTOBUF_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// First four bytes of every Kubernetes protobuf body.
pub const MAGIC: [u8; 4] = *b"k8s\0";

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// The body does not start with the `k8s\0` magic.
    #[error("body is not a kubernetes protobuf message: missing k8s\\0 magic prefix")]
    NotProtobuf,
    /// The bytes are not a well-formed encoding of the message they claim to be.
    #[error("malformed protobuf: {0}")]
    Malformed(String),
    /// No message is known for this apiVersion/kind.
    #[error("no protobuf message for apiVersion {api_version:?} kind {kind:?}")]
    UnknownType { api_version: String, kind: String },
    /// The envelope or the JSON object lacks `apiVersion` or `kind`.
    #[error("object has no apiVersion or kind")]
    MissingTypeMeta,
    /// The envelope declares a content encoding or type other than plain protobuf.
    #[error("unsupported protobuf envelope: {0}")]
    UnsupportedEncoding(String),
    /// A JSON value does not fit the field it is encoded into.
    #[error("cannot encode {path}: {reason}")]
    InvalidValue { path: String, reason: String },
    /// The embedded message definitions could not be loaded (a build defect).
    #[error("protobuf schema: {0}")]
    Schema(String),
}

/// Whether a `Content-Type` (or one `Accept` entry) names Kubernetes protobuf, parameters ignored.
pub fn is_protobuf_media_type(value: &str) -> bool {
    value.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(PROTOBUF_MEDIA_TYPE))
}

/// Decodes a `k8s\0`-prefixed body to the object's JSON, with `apiVersion` and `kind` set from the
/// envelope.
pub fn decode(body: &[u8]) -> Result<Value> {
    decode_nested(body, 0)
}

fn decode_nested(body: &[u8], depth: usize) -> Result<Value> {
    let unknown = envelope::open(body)?;
    let schema = schema::schema()?;
    let message = schema.message_for(&unknown.api_version, &unknown.kind)?;
    let object = decode::message(schema, message, unknown.raw, depth)?;
    Ok(wellknown::with_type_meta(&unknown.api_version, &unknown.kind, object))
}

/// Encodes a JSON object (with `apiVersion` and `kind`) to the protobuf wire form the apiserver sends
/// for `Accept: application/vnd.kubernetes.protobuf`. Lists (`DeploymentList`, `v1 List`…) work the
/// same way; kinds without a message (Table, CRD objects) are [`Error::UnknownType`].
pub fn encode(object: &Value) -> Result<Vec<u8>> {
    let type_meta = |key| object.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let (Some(api_version), Some(kind)) = (type_meta("apiVersion"), type_meta("kind")) else {
        return Err(Error::MissingTypeMeta);
    };
    let schema = schema::schema()?;
    let message = schema.message_for(api_version, kind)?;
    let raw = encode::message(schema, message, object, "", 0)?;
    Ok(envelope::seal(api_version, kind, &raw))
}
