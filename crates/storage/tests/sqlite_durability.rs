//! SQLite durability: acknowledged writes survive kill -9 of the writing
//! process, the file stays intact, and revisions continue across reopen.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use rustkube_storage::sqlite::SqliteStore;
use rustkube_storage::{ListOptions, Store};

const CHILD_ENV: &str = "RUSTKUBE_SQLITE_KILL_CHILD_DB";
const WRITERS: usize = 32;

/// In the child role: 32 tasks create 1 KiB values as fast as they can and
/// print `ACK <key> <revision>` after each acknowledged create, until killed.
async fn child_writer(db: &str) {
    let store = Arc::new(SqliteStore::open(db).await.unwrap());
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (store, out) = (Arc::clone(&store), Arc::clone(&out));
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("/registry/configmaps/kill/w{w:02}-{i:07}");
                let value = Bytes::from(format!("{key}:{}", "x".repeat(1024 - key.len() - 1)));
                let kv = store.create(&key, value).await.unwrap();
                let mut out = out.lock().unwrap();
                writeln!(out, "ACK {key} {}", kv.mod_revision).unwrap();
                out.flush().unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    if let Ok(db) = std::env::var(CHILD_ENV) {
        child_writer(&db).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "acknowledged_writes_survive_kill_9", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("re-running the test binary as the writer");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<(String, i64)>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut parts = line.split_whitespace();
            if parts.next() == Some("ACK") {
                let (key, rev) = (parts.next().unwrap().to_owned(), parts.next().unwrap().parse().unwrap());
                if tx.send((key, rev)).is_err() {
                    break;
                }
            }
        }
    });
    // Let the writer get well under way, then kill it mid-flight.
    let mut acked: BTreeMap<String, i64> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < 5_000 {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok((key, rev)) => {
                acked.insert(key, rev);
            }
            Err(e) => panic!("writer stopped acknowledging after {} writes: {e}", acked.len()),
        }
        assert!(Instant::now() < deadline, "writer too slow: {} acks in 60s", acked.len());
    }
    child.kill().expect("SIGKILL the writer");
    child.wait().unwrap();
    reader.join().unwrap();
    acked.extend(rx.try_iter());

    let store = SqliteStore::open(&db).await.unwrap();
    store.integrity_check().await.expect("database file intact after kill -9");
    let listed =
        store.list(&ListOptions { prefix: "/registry/configmaps/kill/".into(), ..Default::default() }).await.unwrap();
    let stored: BTreeMap<&str, &rustkube_storage::KeyValue> =
        listed.items.iter().map(|kv| (kv.key.as_str(), kv)).collect();
    let mut missing = Vec::new();
    for (key, rev) in &acked {
        match stored.get(key.as_str()) {
            Some(kv) => {
                assert_eq!(kv.mod_revision, *rev, "{key} kept its acknowledged revision");
                assert!(kv.value.starts_with(format!("{key}:").as_bytes()), "{key} kept its value");
                assert_eq!(kv.value.len(), 1024);
            }
            None => missing.push(key),
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    let max_acked = acked.values().max().copied().unwrap();
    let next = store.create("/registry/configmaps/kill/after", Bytes::from_static(b"x")).await.unwrap();
    assert!(next.mod_revision > max_acked, "revisions continue after the crash ({} <= {max_acked})", next.mod_revision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_and_history_continue_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (first, last) = {
        let store = SqliteStore::open(&db).await.unwrap();
        let first = store.create("/registry/pods/ns/a", Bytes::from_static(b"1")).await.unwrap();
        store.update("/registry/pods/ns/a", Bytes::from_static(b"2"), None).await.unwrap();
        let deleted = store.create("/registry/pods/ns/b", Bytes::from_static(b"b")).await.unwrap();
        store.delete("/registry/pods/ns/b", None).await.unwrap();
        let last = store.update("/registry/pods/ns/a", Bytes::from_static(b"3"), None).await.unwrap();
        store.compact(deleted.mod_revision).await.unwrap();
        (first, last)
    };
    let store = SqliteStore::open(&db).await.unwrap();
    assert_eq!(store.current_revision().await.unwrap(), last.mod_revision, "head revision survives reopen");
    let err = store.watch("/registry/pods/", first.mod_revision).await.err().expect("compaction point survives reopen");
    assert!(err.is_compacted(), "got {err}");
    // History after the compaction point is still served to a new watcher.
    let mut stream = store.watch("/registry/pods/", last.mod_revision - 2).await.unwrap();
    let mut revs = Vec::new();
    for _ in 0..2 {
        revs.push(stream.next().await.unwrap().unwrap().revision());
    }
    assert_eq!(revs, vec![last.mod_revision - 1, last.mod_revision]);
    let next = store.create("/registry/pods/ns/c", Bytes::from_static(b"c")).await.unwrap();
    assert_eq!(next.mod_revision, last.mod_revision + 1, "revisions continue without reuse");
    assert!(store.get("/registry/pods/ns/b").await.unwrap_err().is_not_found(), "a compacted delete stays deleted");
}
