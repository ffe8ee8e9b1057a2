//! etcd backend (`etcd-client`): production and HA storage.
//!
//! Keys are stored as given (upstream's `/registry/<resource>/<namespace>/<name>`
//! layout). Conditional writes are single etcd transactions comparing the
//! key's create or mod revision, so the semantics are etcd's own: the store
//! revision is etcd's revision and watches are etcd watches with `prev_kv`.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType as EtcdEventType, GetOptions, KvClient,
    PutOptions, Txn, TxnOp, TxnOpResponse, WatchClient, WatchOptions,
};
use futures_util::stream;

use crate::keys::{check_key, check_size, dir_prefix, range_end};
use crate::{Error, EventType, KeyValue, ListOptions, ListResult, Result, Revision, Store, WatchEvent, WatchStream};

/// The etcd-backed store. Cheap to clone.
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
    kv: KvClient,
    watch: WatchClient,
}

/// Responses (a full list of a large resource) may be far bigger than
/// gRPC's 4 MiB default; like upstream, accept anything that fits in memory.
const MAX_RESPONSE_BYTES: usize = i32::MAX as usize;

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore").finish_non_exhaustive()
    }
}

fn convert_error(context: &'static str) -> impl Fn(etcd_client::Error) -> Error {
    move |err| {
        let text = err.to_string();
        if text.contains("required revision has been compacted") {
            Error::Compacted { requested: 0, compacted: 0 }
        } else if text.contains("request is too large") {
            Error::TooLarge { key: String::new(), size: 0, limit: crate::MAX_VALUE_BYTES }
        } else {
            Error::unavailable(format!("etcd {context}"), err)
        }
    }
}

fn to_kv(kv: &etcd_client::KeyValue) -> Result<KeyValue> {
    let key = kv.key_str().map_err(|_| Error::Corrupt {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        message: "key is not UTF-8".into(),
    })?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

/// Converts an owned etcd key-value without copying its key or value.
fn into_kv(kv: etcd_client::KeyValue) -> Result<KeyValue> {
    let (create_revision, mod_revision) = (kv.create_revision(), kv.mod_revision());
    let (key, value) = kv.into_key_value();
    let key = String::from_utf8(key).map_err(|e| Error::Corrupt {
        key: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        message: "key is not UTF-8".into(),
    })?;
    Ok(KeyValue { key, value: Bytes::from(value), create_revision, mod_revision })
}

impl EtcdStore {
    /// Connects to the given endpoints (`http://127.0.0.1:2379`, …).
    pub async fn connect(endpoints: &[String]) -> Result<Self> {
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(30), Duration::from_secs(10));
        let client = Client::connect(endpoints, Some(options)).await.map_err(convert_error("connect"))?;
        let kv = client.kv_client().max_decoding_message_size(MAX_RESPONSE_BYTES);
        let watch = client.watch_client().max_decoding_message_size(MAX_RESPONSE_BYTES);
        let store = EtcdStore { client, kv, watch };
        // Fail fast on an unreachable cluster instead of at the first request.
        store.current_revision().await?;
        Ok(store)
    }

    /// The underlying client, for callers that need etcd-specific calls.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs a transaction that writes `key` if `when` holds; on failure reads
    /// the key so the caller can tell NotFound, AlreadyExists and Conflict apart.
    async fn conditional(
        &self,
        key: &str,
        when: Compare,
        then: TxnOp,
    ) -> Result<(i64, Option<TxnOpResponse>, Option<KeyValue>)> {
        let txn = Txn::new().when([when]).and_then([then]).or_else([TxnOp::get(key, None)]);
        let resp = self.kv.clone().txn(txn).await.map_err(convert_error("txn"))?;
        let revision = resp.header().map_or(0, |h| h.revision());
        let mut ops = resp.op_responses();
        if resp.succeeded() {
            return Ok((revision, ops.pop(), None));
        }
        let current = match ops.pop() {
            Some(TxnOpResponse::Get(get)) => get.kvs().first().map(to_kv).transpose()?,
            _ => None,
        };
        Ok((revision, None, current))
    }
}

#[async_trait]
impl Store for EtcdStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        check_key(key)?;
        check_size(key, &value)?;
        let when = Compare::create_revision(key, CompareOp::Equal, 0);
        let (revision, put, _) = self.conditional(key, when, TxnOp::put(key, value.to_vec(), None)).await?;
        if put.is_none() {
            return Err(Error::AlreadyExists { key: key.to_owned() });
        }
        Ok(KeyValue { key: key.to_owned(), value, create_revision: revision, mod_revision: revision })
    }

    async fn get(&self, key: &str) -> Result<KeyValue> {
        check_key(key)?;
        let resp = self.kv.clone().get(key, None).await.map_err(convert_error("get"))?;
        match resp.kvs().first() {
            Some(kv) => to_kv(kv),
            None => Err(Error::NotFound { key: key.to_owned() }),
        }
    }

    async fn update(&self, key: &str, value: Bytes, expected: Option<Revision>) -> Result<KeyValue> {
        check_key(key)?;
        check_size(key, &value)?;
        let when = match expected {
            Some(rev) => Compare::mod_revision(key, CompareOp::Equal, rev),
            None => Compare::create_revision(key, CompareOp::Greater, 0),
        };
        let put = TxnOp::put(key, value.to_vec(), Some(PutOptions::new().with_prev_key()));
        let (revision, resp, current) = self.conditional(key, when, put).await?;
        match resp {
            Some(TxnOpResponse::Put(put)) => {
                let create_revision = put.prev_key().map_or(revision, |p| p.create_revision());
                Ok(KeyValue { key: key.to_owned(), value, create_revision, mod_revision: revision })
            }
            _ => Err(refusal(key, expected, current)),
        }
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue> {
        check_key(key)?;
        let when = match expected {
            Some(rev) => Compare::mod_revision(key, CompareOp::Equal, rev),
            None => Compare::create_revision(key, CompareOp::Greater, 0),
        };
        let del = TxnOp::delete(key, Some(DeleteOptions::new().with_prev_key()));
        let (revision, resp, current) = self.conditional(key, when, del).await?;
        match resp {
            Some(TxnOpResponse::Delete(del)) => match del.prev_kvs().first() {
                Some(prev) => Ok(KeyValue { mod_revision: revision, ..to_kv(prev)? }),
                // Deleted by someone else between compare and delete cannot happen in one txn.
                None => Err(Error::NotFound { key: key.to_owned() }),
            },
            _ => Err(refusal(key, expected, current)),
        }
    }

    async fn list(&self, opts: &ListOptions) -> Result<ListResult> {
        let prefix = dir_prefix(&opts.prefix);
        let end = range_end(&prefix);
        let start = match &opts.start_key {
            Some(k) if k.as_str() > prefix.as_str() => k.clone(),
            _ => prefix.clone(),
        };
        if start >= end {
            let revision = self.current_revision().await?;
            return Ok(ListResult { revision, ..ListResult::default() });
        }
        let mut get = GetOptions::new().with_range(end.clone());
        let limit = opts.limit.filter(|l| *l > 0);
        if let Some(l) = limit {
            get = get.with_limit(l as i64);
        }
        if let Some(r) = opts.revision.filter(|r| *r > 0) {
            get = get.with_revision(r);
        }
        let mut resp = self.kv.clone().get(start, Some(get)).await.map_err(|e| match convert_error("list")(e) {
            Error::Compacted { .. } => Error::Compacted { requested: opts.revision.unwrap_or(0), compacted: 0 },
            other => other,
        })?;
        let revision = resp.header().map_or(0, |h| h.revision());
        let (more, count) = (resp.more(), resp.count());
        let items = resp.take_kvs().into_iter().map(into_kv).collect::<Result<Vec<_>>>()?;
        let next_key = if more { items.last().map(|kv| format!("{}\0", kv.key)) } else { None };
        let remaining = next_key.as_ref().map(|_| (count as u64).saturating_sub(items.len() as u64));
        // etcd reports the revision of the read; for a snapshot read that is the store head,
        // so report the snapshot's revision instead.
        let revision = opts.revision.filter(|r| *r > 0).unwrap_or(revision);
        Ok(ListResult { items, revision, next_key, remaining })
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let start = dir_prefix(prefix);
        let options = WatchOptions::new().with_range(range_end(&start)).with_start_revision(after + 1).with_prev_key();
        let stream = self.watch.clone().watch(start, Some(options)).await.map_err(convert_error("watch"))?;
        let state = EtcdWatch { stream, buf: std::collections::VecDeque::new(), after, done: false };
        Ok(Box::pin(stream::unfold(state, |mut st| async move {
            let item = st.next().await?;
            Some((item, st))
        })))
    }

    async fn current_revision(&self) -> Result<Revision> {
        let resp = self
            .kv
            .clone()
            .get("/", Some(GetOptions::new().with_count_only()))
            .await
            .map_err(convert_error("read revision"))?;
        Ok(resp.header().map_or(0, |h| h.revision()))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let revision = revision.min(self.current_revision().await?);
        if revision <= 0 {
            return Ok(());
        }
        match self.kv.clone().compact(revision, None).await {
            Ok(_) => Ok(()),
            // Someone (another apiserver) already compacted past this point.
            Err(e) if e.to_string().contains("required revision has been compacted") => Ok(()),
            Err(e) => Err(convert_error("compact")(e)),
        }
    }
}

/// Maps a failed compare to the caller-facing refusal.
fn refusal(key: &str, expected: Option<Revision>, current: Option<KeyValue>) -> Error {
    match (current, expected) {
        (None, _) => Error::NotFound { key: key.to_owned() },
        (Some(cur), Some(expected)) => Error::Conflict { key: key.to_owned(), expected, current: cur.mod_revision },
        (Some(_), None) => Error::unavailable_msg(format!("etcd refused an unconditional write to {key}")),
    }
}

struct EtcdWatch {
    stream: etcd_client::WatchStream,
    buf: std::collections::VecDeque<WatchEvent>,
    after: Revision,
    done: bool,
}

impl EtcdWatch {
    async fn next(&mut self) -> Option<Result<WatchEvent>> {
        loop {
            if let Some(ev) = self.buf.pop_front() {
                return Some(Ok(ev));
            }
            if self.done {
                return None;
            }
            let resp = match self.stream.message().await {
                Ok(Some(resp)) => resp,
                Ok(None) => {
                    self.done = true;
                    return Some(Err(Error::unavailable_msg("etcd watch stream closed")));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(convert_error("watch")(e)));
                }
            };
            if resp.compact_revision() > 0 {
                self.done = true;
                return Some(Err(Error::Compacted { requested: self.after, compacted: resp.compact_revision() }));
            }
            if resp.canceled() {
                self.done = true;
                return Some(Err(Error::unavailable_msg(format!("etcd watch canceled: {}", resp.cancel_reason()))));
            }
            for ev in resp.events() {
                match convert_event(ev) {
                    Ok(Some(ev)) => {
                        self.after = ev.revision();
                        self.buf.push_back(ev);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.done = true;
                        self.buf.clear();
                        return Some(Err(e));
                    }
                }
            }
        }
    }
}

fn convert_event(ev: &etcd_client::Event) -> Result<Option<WatchEvent>> {
    let Some(kv) = ev.kv() else { return Ok(None) };
    let prev = ev.prev_kv().map(to_kv).transpose()?;
    let kv = to_kv(kv)?;
    Ok(Some(match ev.event_type() {
        EtcdEventType::Put => {
            let event_type =
                if kv.create_revision == kv.mod_revision { EventType::Created } else { EventType::Updated };
            WatchEvent { event_type, kv, prev }
        }
        EtcdEventType::Delete => {
            // etcd's delete event has no value; carry the last one from prev_kv.
            let last = match &prev {
                Some(p) => KeyValue { mod_revision: kv.mod_revision, ..p.clone() },
                None => kv,
            };
            WatchEvent { event_type: EventType::Deleted, kv: last, prev }
        }
    }))
}
