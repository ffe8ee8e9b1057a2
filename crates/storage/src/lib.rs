//! Versioned key-value storage behind kube-apiserver.
//!
//! One trait, [`Store`], with three backends that keep the same semantics:
//! [`etcd::EtcdStore`] (production and HA), [`sqlite::SqliteStore`] (the
//! embedded default, a kine-style log table) and [`memory::MemoryStore`]
//! (unit tests). Every backend keeps a global, monotonically increasing
//! revision; an object's resourceVersion is its mod revision; watches deliver
//! every change after a revision in order with no gaps, or fail with
//! [`Error::Compacted`] once that revision's history has been compacted away.

mod compactor;
mod continue_token;
mod error;
mod hub;
mod keys;

pub mod etcd;
pub mod memory;
pub mod sqlite;

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

pub use compactor::Compactor;
pub use continue_token::ContinueToken;
pub use error::{Error, Result};
pub use keys::{MAX_VALUE_BYTES, dir_prefix};

/// A store revision; also the resourceVersion clients see.
pub type Revision = i64;

/// One stored key at one revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the create that started this key's current life.
    pub create_revision: Revision,
    /// Revision of the last change (for a deletion: the deletion itself).
    pub mod_revision: Revision,
}

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Created,
    Updated,
    Deleted,
}

/// One change, as delivered by [`Store::watch`].
///
/// For [`EventType::Deleted`], `kv` holds the last value the key had, with
/// `mod_revision` set to the revision of the deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    pub event_type: EventType,
    pub kv: KeyValue,
    /// The key's state just before this change, when the backend still has it.
    pub prev: Option<KeyValue>,
}

impl WatchEvent {
    /// The revision at which this change happened.
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// A stream of changes; ends after yielding an error.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchEvent>> + Send>>;

/// What to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Directory prefix; a missing trailing `/` is added (see [`dir_prefix`]).
    pub prefix: String,
    /// First key to return (inclusive), from a previous page's [`ListResult::next_key`].
    pub start_key: Option<String>,
    /// Maximum number of items; `None` or `Some(0)` means no limit.
    pub limit: Option<usize>,
    /// Read the snapshot at this revision instead of the latest one.
    pub revision: Option<Revision>,
}

/// One page of a list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListResult {
    pub items: Vec<KeyValue>,
    /// The revision of the snapshot that was read.
    pub revision: Revision,
    /// Where the next page starts, when there are more items.
    pub next_key: Option<String>,
    /// How many items follow this page, when the backend knows cheaply.
    pub remaining: Option<u64>,
}

/// A versioned key-value store. Keys are `/`-separated paths such as
/// `/registry/pods/default/web-0`; values are opaque bytes.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Creates `key`; fails with [`Error::AlreadyExists`] if it is present.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue>;

    /// Reads the latest value of `key`; fails with [`Error::NotFound`].
    async fn get(&self, key: &str) -> Result<KeyValue>;

    /// Replaces the value of an existing `key`. With `expected`, succeeds only
    /// if the key's mod revision is still that ([`Error::Conflict`] otherwise).
    async fn update(&self, key: &str, value: Bytes, expected: Option<Revision>) -> Result<KeyValue>;

    /// Deletes `key`, optionally only at the `expected` mod revision. Returns
    /// the last value, with `mod_revision` set to the deletion's revision.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue>;

    /// Lists the keys under a prefix in key order, one page at a time, from a
    /// consistent snapshot.
    async fn list(&self, opts: &ListOptions) -> Result<ListResult>;

    /// Streams every change under `prefix` with a revision greater than
    /// `after`, in revision order.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;

    /// The latest committed revision.
    async fn current_revision(&self) -> Result<Revision>;

    /// Discards history older than `revision`: reads and watches from before
    /// it fail with [`Error::Compacted`] afterwards.
    async fn compact(&self, revision: Revision) -> Result<()>;
}
