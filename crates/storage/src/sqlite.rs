//! Embedded SQLite backend: a kine-style append-only log table in one file.
//!
//! Every change is a new row whose id is the store revision: creates and
//! updates carry the value, deletions are tombstones that keep the last value
//! so that watchers can be told what was deleted. A key's state at revision R
//! is its newest row with `id <= R`, which gives consistent snapshots for
//! paged lists. One writer thread owns the write connection and commits
//! whatever requests are queued as one transaction (group commit: concurrent
//! writers share one fsync), acknowledging each only after COMMIT; watchers
//! are fed from committed rows through the shared [`Hub`]. Reads use a small
//! pool of WAL reader connections.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use crate::hub::{EventLog, Hub};
use crate::keys::{check_key, check_size, dir_prefix, range_end};
use crate::{Error, EventType, KeyValue, ListOptions, ListResult, Result, Revision, Store, WatchEvent, WatchStream};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    created       INTEGER NOT NULL,
    deleted       INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value         BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
";

/// How to open a [`SqliteStore`].
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// The database file (created if missing, with `-wal` and `-shm` beside it).
    pub path: PathBuf,
    /// How many recent events the watch ring keeps in memory.
    pub watch_capacity: usize,
    /// Most requests committed in one transaction.
    pub max_batch: usize,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions { path: path.into(), watch_capacity: 8192, max_batch: 512 }
    }
}

/// The embedded SQLite store. Cheap to clone; all clones share one writer.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: mpsc::Sender<Command>,
    reader: Arc<Reader>,
    hub: Arc<Hub>,
}

enum Op {
    Create { key: String, value: Bytes },
    Update { key: String, value: Bytes, expected: Option<Revision> },
    Delete { key: String, expected: Option<Revision> },
}

enum Command {
    Write { op: Op, reply: oneshot::Sender<Result<KeyValue>> },
    Compact { revision: Revision, reply: oneshot::Sender<Result<()>> },
}

fn sql_error(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |e| Error::unavailable(format!("sqlite {context}"), e)
}

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags).map_err(sql_error("open"))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(sql_error("open"))?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(sql_error("enable WAL"))?;
    // FULL: a commit is on disk (WAL fsynced) before it is acknowledged.
    conn.pragma_update(None, "synchronous", "FULL").map_err(sql_error("set synchronous"))?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (or creates) the store at `path` with default options.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with(SqliteOptions::new(path)).await
    }

    /// Opens (or creates) the store. Revisions continue from where the file left off.
    pub async fn open_with(opts: SqliteOptions) -> Result<Self> {
        tokio::task::spawn_blocking(move || Self::open_blocking(opts))
            .await
            .map_err(|e| Error::unavailable("sqlite open task", e))?
    }

    fn open_blocking(opts: SqliteOptions) -> Result<Self> {
        if let Some(dir) = opts.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::unavailable(format!("create {}", dir.display()), e))?;
        }
        let conn = open_connection(&opts.path, OpenFlags::default())?;
        conn.execute_batch(SCHEMA).map_err(sql_error("create schema"))?;
        let head = current_revision(&conn)?;
        let hub = Arc::new(Hub::new(head, opts.watch_capacity.max(1)));
        let reader = Arc::new(Reader(Arc::new(ReaderPool { path: opts.path.clone(), pool: Mutex::new(Vec::new()) })));
        let (tx, rx) = mpsc::channel();
        let writer = Writer { conn, hub: Arc::clone(&hub), next: head + 1, max_batch: opts.max_batch.max(1) };
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::unavailable("spawn sqlite writer", e))?;
        tracing::debug!(path = %opts.path.display(), revision = head, "opened sqlite store");
        Ok(SqliteStore { writer: tx, reader, hub })
    }

    async fn write(&self, op: Op) -> Result<KeyValue> {
        let (reply, rx) = oneshot::channel();
        self.writer.send(Command::Write { op, reply }).map_err(|_| Error::unavailable_msg("sqlite writer stopped"))?;
        rx.await.map_err(|_| Error::unavailable_msg("sqlite writer stopped"))?
    }

    /// Runs SQLite's `PRAGMA integrity_check`; an error names what is damaged.
    pub async fn integrity_check(&self) -> Result<()> {
        self.reader
            .read(|conn| {
                let report: String =
                    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(sql_error("integrity check"))?;
                if report == "ok" { Ok(()) } else { Err(Error::Corrupt { key: String::new(), message: report }) }
            })
            .await
    }
}

fn current_revision(conn: &Connection) -> Result<Revision> {
    conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'kv'", [], |r| r.get(0))
        .optional()
        .map(|r| r.unwrap_or(0))
        .map_err(sql_error("read revision"))
}

fn compacted_revision(conn: &Connection) -> Result<Revision> {
    conn.query_row("SELECT v FROM meta WHERE k = 'compact_rev'", [], |r| r.get(0))
        .optional()
        .map(|r| r.unwrap_or(0))
        .map_err(sql_error("read compaction point"))
}

/// The newest row of a key.
struct Latest {
    id: Revision,
    created: Revision,
    deleted: bool,
    value: Bytes,
}

impl Latest {
    fn live_kv(&self, key: &str) -> Option<KeyValue> {
        (!self.deleted).then(|| KeyValue {
            key: key.to_owned(),
            value: self.value.clone(),
            create_revision: self.created,
            mod_revision: self.id,
        })
    }
}

fn latest(conn: &Connection, key: &str) -> Result<Option<Latest>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, created, deleted, value FROM kv WHERE name = ?1 ORDER BY id DESC LIMIT 1")
        .map_err(sql_error("read key"))?;
    stmt.query_row([key], |r| {
        Ok(Latest {
            id: r.get(0)?,
            created: r.get(1)?,
            deleted: r.get(2)?,
            value: Bytes::from(r.get::<_, Vec<u8>>(3)?),
        })
    })
    .optional()
    .map_err(sql_error("read key"))
}

struct Writer {
    conn: Connection,
    hub: Arc<Hub>,
    /// The revision the next row gets; only this thread writes.
    next: Revision,
    max_batch: usize,
}

/// A failure of one request that leaves the rest of its batch unaffected.
type OpOutcome = std::result::Result<WatchEvent, Error>;

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Command>) {
        let mut pending: Option<Command> = None;
        loop {
            let first = match pending.take().map(Ok).unwrap_or_else(|| rx.recv()) {
                Ok(c) => c,
                Err(_) => return, // every store handle is gone
            };
            match first {
                Command::Compact { revision, reply } => {
                    let _ = reply.send(self.compact(revision));
                }
                Command::Write { op, reply } => {
                    let mut batch = vec![(op, reply)];
                    while batch.len() < self.max_batch {
                        match rx.try_recv() {
                            Ok(Command::Write { op, reply }) => batch.push((op, reply)),
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_batch(batch);
                }
            }
        }
    }

    fn commit_batch(&mut self, batch: Vec<(Op, oneshot::Sender<Result<KeyValue>>)>) {
        let start_next = self.next;
        let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().unzip();
        let outcome = self.apply_all(ops);
        match outcome {
            Ok(outcomes) => {
                let events: Vec<WatchEvent> = outcomes.iter().filter_map(|o| o.as_ref().ok().cloned()).collect();
                self.hub.publish(events);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome.map(|ev| ev.kv));
                }
            }
            Err(err) => {
                self.next = start_next;
                tracing::error!(error = %err, "sqlite batch commit failed");
                let message = err.to_string();
                for reply in replies {
                    let _ = reply.send(Err(Error::unavailable_msg(message.clone())));
                }
            }
        }
    }

    /// Applies every op in one transaction; an `Err` means nothing was committed.
    fn apply_all(&mut self, ops: Vec<Op>) -> Result<Vec<OpOutcome>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql_error("begin"))?;
        let mut outcomes = Vec::with_capacity(ops.len());
        let mut next = self.next;
        for op in ops {
            let outcome = apply(&tx, op, next)?;
            if outcome.is_ok() {
                next += 1;
            }
            outcomes.push(outcome);
        }
        tx.commit().map_err(sql_error("commit"))?;
        self.next = next;
        Ok(outcomes)
    }

    fn compact(&mut self, revision: Revision) -> Result<()> {
        let revision = revision.min(self.next - 1);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql_error("begin"))?;
        if revision <= compacted_revision(&tx)? {
            return Ok(());
        }
        let removed = tx
            .execute(
                "DELETE FROM kv WHERE id <= ?1 AND (deleted = 1 OR id < \
                 (SELECT MAX(k2.id) FROM kv AS k2 WHERE k2.name = kv.name AND k2.id <= ?1))",
                [revision],
            )
            .map_err(sql_error("compact"))?;
        tx.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('compact_rev', ?1)", [revision])
            .map_err(sql_error("compact"))?;
        tx.commit().map_err(sql_error("commit compaction"))?;
        tracing::debug!(revision, removed, "compacted sqlite store");
        Ok(())
    }
}

/// Applies one op at revision `id`. The outer `Result` is a database failure
/// (abort the batch); the inner one is this request's own refusal.
fn apply(conn: &Connection, op: Op, id: Revision) -> Result<OpOutcome> {
    let (key, value, expected, deleting) = match op {
        Op::Create { key, value } => {
            let current = latest(conn, &key)?;
            if current.as_ref().is_some_and(|c| !c.deleted) {
                return Ok(Err(Error::AlreadyExists { key }));
            }
            let prev_id = current.map_or(0, |c| c.id);
            insert(conn, id, &key, id, false, prev_id, &value)?;
            let kv = KeyValue { key, value, create_revision: id, mod_revision: id };
            return Ok(Ok(WatchEvent { event_type: EventType::Created, kv, prev: None }));
        }
        Op::Update { key, value, expected } => (key, Some(value), expected, false),
        Op::Delete { key, expected } => (key, None, expected, true),
    };
    let Some(prev) = latest(conn, &key)?.and_then(|c| c.live_kv(&key)) else {
        return Ok(Err(Error::NotFound { key }));
    };
    if let Some(expected) = expected.filter(|e| *e != prev.mod_revision) {
        return Ok(Err(Error::Conflict { key, expected, current: prev.mod_revision }));
    }
    let value = value.unwrap_or_else(|| prev.value.clone());
    insert(conn, id, &key, prev.create_revision, deleting, prev.mod_revision, &value)?;
    let kv = KeyValue { key, value, create_revision: prev.create_revision, mod_revision: id };
    let event_type = if deleting { EventType::Deleted } else { EventType::Updated };
    Ok(Ok(WatchEvent { event_type, kv, prev: Some(prev) }))
}

fn insert(
    conn: &Connection,
    id: Revision,
    key: &str,
    created: Revision,
    deleted: bool,
    prev: Revision,
    value: &[u8],
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO kv (id, name, created, deleted, prev_revision, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| s.execute(params![id, key, created, deleted, prev, value]))
    .map(drop)
    .map_err(sql_error("insert"))
}

/// The read side: a pool of reader connections, also the watchers' log.
/// Cheap to clone.
#[derive(Clone, Debug)]
struct Reader(Arc<ReaderPool>);

#[derive(Debug)]
struct ReaderPool {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
}

const POOL_KEEP: usize = 8;

impl Reader {
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let this = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let pooled = this.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => {
                    open_connection(&this.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?
                }
            };
            let out = f(&mut conn);
            let mut pool = this.pool.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < POOL_KEEP {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| Error::unavailable("sqlite read task", e))?
    }
}

fn row_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<WatchEvent> {
    let id: Revision = r.get(0)?;
    let key: String = r.get(1)?;
    let created: Revision = r.get(2)?;
    let deleted: bool = r.get(3)?;
    let value = Bytes::from(r.get::<_, Vec<u8>>(4)?);
    let prev_id: Option<Revision> = r.get(5)?;
    let prev_deleted: Option<bool> = r.get(6)?;
    let prev = match (prev_id, prev_deleted) {
        (Some(pid), Some(false)) => Some(KeyValue {
            key: key.clone(),
            value: Bytes::from(r.get::<_, Vec<u8>>(8)?),
            create_revision: r.get(7)?,
            mod_revision: pid,
        }),
        _ => None,
    };
    let event_type = if deleted {
        EventType::Deleted
    } else if created == id {
        EventType::Created
    } else {
        EventType::Updated
    };
    Ok(WatchEvent { event_type, kv: KeyValue { key, value, create_revision: created, mod_revision: id }, prev })
}

impl EventLog for Reader {
    async fn read_events(
        &self,
        prefix: &str,
        after: Revision,
        upto: Revision,
        limit: usize,
    ) -> Result<Vec<WatchEvent>> {
        let (prefix, end) = (prefix.to_owned(), range_end(prefix));
        self.read(move |conn| {
            let tx = conn.transaction().map_err(sql_error("begin read"))?;
            let compacted = compacted_revision(&tx)?;
            if after < compacted {
                return Err(Error::Compacted { requested: after, compacted });
            }
            let mut stmt = tx
                .prepare_cached(
                    "SELECT kv.id, kv.name, kv.created, kv.deleted, kv.value, p.id, p.deleted, p.created, p.value \
                     FROM kv LEFT JOIN kv AS p ON p.id = kv.prev_revision \
                     WHERE kv.id > ?1 AND kv.id <= ?2 AND kv.name >= ?3 AND kv.name < ?4 ORDER BY kv.id LIMIT ?5",
                )
                .map_err(sql_error("read events"))?;
            let rows = stmt
                .query_map(params![after, upto, prefix, end, limit as i64], row_event)
                .map_err(sql_error("read events"))?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_error("read events"))
        })
        .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        check_key(key)?;
        check_size(key, &value)?;
        self.write(Op::Create { key: key.to_owned(), value }).await
    }

    async fn get(&self, key: &str) -> Result<KeyValue> {
        check_key(key)?;
        let key = key.to_owned();
        self.reader
            .read(move |conn| latest(conn, &key)?.and_then(|l| l.live_kv(&key)).ok_or(Error::NotFound { key }))
            .await
    }

    async fn update(&self, key: &str, value: Bytes, expected: Option<Revision>) -> Result<KeyValue> {
        check_key(key)?;
        check_size(key, &value)?;
        self.write(Op::Update { key: key.to_owned(), value, expected }).await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue> {
        check_key(key)?;
        self.write(Op::Delete { key: key.to_owned(), expected }).await
    }

    async fn list(&self, opts: &ListOptions) -> Result<ListResult> {
        let prefix = dir_prefix(&opts.prefix);
        let end = range_end(&prefix);
        // A start key ending in NUL (as issued by `next_key`) means "after this key".
        let (start, exclusive) = match opts.start_key.as_deref() {
            Some(k) if k > prefix.as_str() => match k.strip_suffix('\0') {
                Some(k) => (k.to_owned(), true),
                None => (k.to_owned(), false),
            },
            _ => (prefix.clone(), false),
        };
        let limit = opts.limit.filter(|l| *l > 0);
        let want_revision = opts.revision;
        self.reader
            .read(move |conn| {
                let tx = conn.transaction().map_err(sql_error("begin read"))?;
                let head = current_revision(&tx)?;
                let compacted = compacted_revision(&tx)?;
                let revision = match want_revision {
                    Some(r) if r < compacted => return Err(Error::Compacted { requested: r, compacted }),
                    Some(r) => r.min(head),
                    None => head,
                };
                // Walk the (name, id) index in key order and keep, per key, only
                // its newest row at the snapshot; values are read for those rows only.
                let sql = format!(
                    "SELECT kv.id, kv.name, kv.created, kv.value FROM kv \
                     WHERE kv.name {} ?1 AND kv.name < ?2 AND kv.id <= ?3 \
                     AND kv.id = (SELECT MAX(k2.id) FROM kv AS k2 WHERE k2.name = kv.name AND k2.id <= ?3) \
                     AND kv.deleted = 0 ORDER BY kv.name LIMIT ?4",
                    if exclusive { ">" } else { ">=" }
                );
                let mut stmt = tx.prepare_cached(&sql).map_err(sql_error("list"))?;
                let fetch = limit.map_or(-1, |l| l as i64 + 1);
                let rows = stmt
                    .query_map(params![start, end, revision, fetch], |r| {
                        Ok(KeyValue {
                            mod_revision: r.get(0)?,
                            key: r.get(1)?,
                            create_revision: r.get(2)?,
                            value: Bytes::from(r.get::<_, Vec<u8>>(3)?),
                        })
                    })
                    .map_err(sql_error("list"))?;
                let mut items = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_error("list"))?;
                let mut next_key = None;
                if let Some(l) = limit
                    && items.len() > l
                {
                    items.truncate(l);
                    next_key = items.last().map(|kv| format!("{}\0", kv.key));
                }
                Ok(ListResult { items, revision, next_key, remaining: None })
            })
            .await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let compacted = self.reader.read(|conn| compacted_revision(conn)).await?;
        if after < compacted {
            return Err(Error::Compacted { requested: after, compacted });
        }
        Ok(self.hub.watch(Arc::clone(&self.reader), prefix, after))
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.hub.head())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(Command::Compact { revision, reply })
            .map_err(|_| Error::unavailable_msg("sqlite writer stopped"))?;
        rx.await.map_err(|_| Error::unavailable_msg("sqlite writer stopped"))?
    }
}
