//! One behaviour suite, run against every backend: memory, SQLite and a real etcd.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use rustkube_storage::memory::MemoryStore;
use rustkube_storage::sqlite::{SqliteOptions, SqliteStore};
use rustkube_storage::{Error, EventType, ListOptions, MAX_VALUE_BYTES, Revision, Store, WatchEvent, WatchStream};

/// A store under test plus whatever keeps it alive (temp dir, etcd process).
struct Backend {
    store: Arc<dyn Store>,
    _keep: Box<dyn std::any::Any + Send>,
}

async fn memory() -> Backend {
    Backend { store: Arc::new(MemoryStore::new()), _keep: Box::new(()) }
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("state.db")).await.unwrap();
    Backend { store: Arc::new(store), _keep: Box::new(dir) }
}

async fn etcd() -> Backend {
    let server = support::start_etcd().await.unwrap_or_else(|e| panic!("cannot run the etcd suite: {e:#}"));
    let store = support::store(&server).await.unwrap();
    Backend { store: Arc::new(store), _keep: Box::new(server) }
}

fn val(s: impl Into<String>) -> Bytes {
    Bytes::from(s.into())
}

const WAIT: Duration = Duration::from_secs(20);

async fn next_event(stream: &mut WatchStream) -> WatchEvent {
    match tokio::time::timeout(WAIT, stream.next()).await {
        Ok(Some(Ok(ev))) => ev,
        Ok(Some(Err(e))) => panic!("watch failed: {e}"),
        Ok(None) => panic!("watch ended early"),
        Err(_) => panic!("no watch event within {WAIT:?}"),
    }
}

/// The error a watch from `after` fails with, whether at start or as its first item.
async fn watch_error(store: &dyn Store, prefix: &str, after: Revision) -> Error {
    match store.watch(prefix, after).await {
        Err(e) => e,
        Ok(mut stream) => match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Err(e))) => e,
            Ok(Some(Ok(ev))) => panic!("expected the watch to fail, got event at {}", ev.revision()),
            Ok(None) => panic!("expected the watch to fail, it ended"),
            Err(_) => panic!("expected the watch to fail within {WAIT:?}"),
        },
    }
}

mod suite {
    use super::*;

    pub async fn revisions_increase_monotonically(store: &dyn Store) {
        let start = store.current_revision().await.unwrap();
        let mut last = start;
        for i in 0..10 {
            let key = format!("/registry/mono/k{}", i % 3);
            let kv = match store.get(&key).await {
                Ok(cur) if i % 4 == 3 => store.delete(&key, Some(cur.mod_revision)).await.unwrap(),
                Ok(cur) => store.update(&key, val(format!("v{i}")), Some(cur.mod_revision)).await.unwrap(),
                Err(e) if e.is_not_found() => store.create(&key, val(format!("v{i}"))).await.unwrap(),
                Err(e) => panic!("get failed: {e}"),
            };
            assert!(kv.mod_revision > last, "revision {} after {} is not greater", kv.mod_revision, last);
            last = kv.mod_revision;
        }
        assert_eq!(store.current_revision().await.unwrap(), last, "current revision is the last write's");
    }

    pub async fn create_only_if_absent(store: &dyn Store) {
        let key = "/registry/configmaps/default/one";
        let first = store.create(key, val("a")).await.unwrap();
        assert_eq!(first.create_revision, first.mod_revision);
        let err = store.create(key, val("b")).await.unwrap_err();
        assert!(matches!(err, Error::AlreadyExists { .. }), "second create must fail with AlreadyExists, got {err}");
        assert_eq!(store.get(key).await.unwrap().value, val("a"), "failed create must not change the value");
        store.delete(key, None).await.unwrap();
        let again = store.create(key, val("c")).await.unwrap();
        assert!(again.create_revision > first.create_revision, "re-created key gets a new create revision");
        assert_eq!(store.get(key).await.unwrap(), again);
    }

    pub async fn updates_and_deletes_compare_and_swap(store: &dyn Store) {
        let key = "/registry/secrets/ns/cas";
        let v1 = store.create(key, val("1")).await.unwrap();
        let v2 = store.update(key, val("2"), Some(v1.mod_revision)).await.unwrap();
        assert_eq!(v2.create_revision, v1.create_revision, "update keeps the create revision");
        match store.update(key, val("stale"), Some(v1.mod_revision)).await.unwrap_err() {
            Error::Conflict { expected, current, .. } => {
                assert_eq!(
                    (expected, current),
                    (v1.mod_revision, v2.mod_revision),
                    "conflict carries the current revision"
                )
            }
            other => panic!("stale update must conflict, got {other}"),
        }
        match store.delete(key, Some(v1.mod_revision)).await.unwrap_err() {
            Error::Conflict { current, .. } => assert_eq!(current, v2.mod_revision),
            other => panic!("stale delete must conflict, got {other}"),
        }
        assert_eq!(store.get(key).await.unwrap().value, val("2"), "refused writes change nothing");
        let v3 = store.update(key, val("3"), None).await.unwrap();
        assert!(v3.mod_revision > v2.mod_revision, "unconditional update overwrites");
        let deleted = store.delete(key, Some(v3.mod_revision)).await.unwrap();
        assert_eq!(deleted.value, val("3"), "delete returns the last value");
        assert!(deleted.mod_revision > v3.mod_revision, "delete has its own revision");
        assert!(store.get(key).await.unwrap_err().is_not_found());
        assert!(store.update(key, val("x"), None).await.unwrap_err().is_not_found(), "update of a missing key");
        assert!(store.delete(key, None).await.unwrap_err().is_not_found(), "delete of a missing key");
    }

    pub async fn concurrent_increments_are_exact(store: Arc<dyn Store>) {
        let key = "/registry/counters/default/c";
        store.create(key, val("0")).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let mut conflicts = 0u64;
                for _ in 0..200 {
                    loop {
                        let cur = store.get(key).await.unwrap();
                        let n: u64 = std::str::from_utf8(&cur.value).unwrap().parse().unwrap();
                        match store.update(key, val((n + 1).to_string()), Some(cur.mod_revision)).await {
                            Ok(_) => break,
                            Err(e) if e.is_conflict() => conflicts += 1,
                            Err(e) => panic!("increment failed: {e}"),
                        }
                    }
                }
                conflicts
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(store.get(key).await.unwrap().value, val("6400"), "32 × 200 increments must end at exactly 6400");
    }

    pub async fn watch_delivers_every_change_in_order(store: &dyn Store) {
        let from = store.current_revision().await.unwrap();
        let a = store.create("/registry/pods/w/a", val("a1")).await.unwrap();
        let a2 = store.update("/registry/pods/w/a", val("a2"), None).await.unwrap();
        store.create("/registry/other/w/zzz", val("elsewhere")).await.unwrap();
        let b = store.create("/registry/pods/w/b", val("b1")).await.unwrap();
        let a3 = store.delete("/registry/pods/w/a", None).await.unwrap();

        let mut stream = store.watch("/registry/pods/w", from).await.unwrap();
        let mut events = Vec::new();
        for _ in 0..4 {
            events.push(next_event(&mut stream).await);
        }
        let summary: Vec<(EventType, &str, Revision)> =
            events.iter().map(|e| (e.event_type, e.kv.key.as_str(), e.revision())).collect();
        assert_eq!(
            summary,
            vec![
                (EventType::Created, "/registry/pods/w/a", a.mod_revision),
                (EventType::Updated, "/registry/pods/w/a", a2.mod_revision),
                (EventType::Created, "/registry/pods/w/b", b.mod_revision),
                (EventType::Deleted, "/registry/pods/w/a", a3.mod_revision),
            ],
            "history replayed in order, other prefixes excluded"
        );
        assert_eq!(events[1].prev.as_ref().map(|p| p.value.clone()), Some(val("a1")), "update carries prev");
        assert_eq!(events[3].kv.value, val("a2"), "delete carries the last value");

        // Live changes follow the replayed history without a gap.
        let c = store.create("/registry/pods/w/c", val("c1")).await.unwrap();
        let live = next_event(&mut stream).await;
        assert_eq!(
            (live.event_type, live.kv.mod_revision, live.kv.value),
            (EventType::Created, c.mod_revision, val("c1"))
        );

        // A watch from the middle starts right after that revision.
        let mut mid = store.watch("/registry/pods/w/", a2.mod_revision).await.unwrap();
        assert_eq!(next_event(&mut mid).await.revision(), b.mod_revision);
    }

    pub async fn watch_from_compacted_revision_fails(store: &dyn Store) {
        let first = store.create("/registry/leases/n/l", val("0")).await.unwrap();
        let mut last = first.clone();
        for i in 1..20 {
            last = store.update("/registry/leases/n/l", val(i.to_string()), None).await.unwrap();
        }
        store.compact(last.mod_revision).await.unwrap();
        let err = watch_error(store, "/registry/leases/", first.mod_revision).await;
        assert!(err.is_compacted(), "watch from a compacted revision must fail with Compacted, got {err}");
        let err = store
            .list(&ListOptions {
                prefix: "/registry/leases/".into(),
                revision: Some(first.mod_revision),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(err.is_compacted(), "list at a compacted revision must fail with Compacted, got {err}");
        // The current state survives compaction and watching from the compaction point works.
        assert_eq!(store.get("/registry/leases/n/l").await.unwrap(), last);
        let mut stream = store.watch("/registry/leases/", last.mod_revision).await.unwrap();
        let next = store.update("/registry/leases/n/l", val("after"), None).await.unwrap();
        assert_eq!(next_event(&mut stream).await.revision(), next.mod_revision);
    }

    pub async fn paged_list_reads_one_snapshot_under_writes(store: Arc<dyn Store>) {
        let prefix = "/registry/pages/ns/";
        let mut state: BTreeMap<String, (Bytes, Revision)> = BTreeMap::new();
        for i in 0..120 {
            let kv = store.create(&format!("{prefix}k{i:03}"), val(format!("v0-{i}"))).await.unwrap();
            state.insert(kv.key.clone(), (kv.value, kv.mod_revision));
        }
        // Writers update, create and delete while pages are read; every acknowledged
        // change is logged with its revision so the snapshot can be recomputed.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..4 {
            let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
            writers.push(tokio::spawn(async move {
                let mut log: Vec<(Revision, String, Option<Bytes>)> = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 400 {
                    n += 1;
                    let key = format!("{prefix}k{:03}", (n * 7 + w * 31) % 120);
                    let res = match n % 5 {
                        0 => store.delete(&key, None).await.map(|kv| (kv.mod_revision, kv.key, None)),
                        1 => store
                            .create(&format!("{prefix}k{:03}-new{w}-{n}", n % 120), val(format!("new{n}")))
                            .await
                            .map(|kv| (kv.mod_revision, kv.key, Some(kv.value))),
                        _ => store
                            .update(&key, val(format!("w{w}-{n}")), None)
                            .await
                            .map(|kv| (kv.mod_revision, kv.key, Some(kv.value))),
                    };
                    match res {
                        Ok(entry) => log.push(entry),
                        Err(e) if e.is_not_found() => {}
                        Err(e) => panic!("writer failed: {e}"),
                    }
                }
                log
            }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut pages = Vec::new();
        let mut opts = ListOptions { prefix: prefix.into(), limit: Some(7), ..Default::default() };
        loop {
            let page = store.list(&opts).await.unwrap();
            assert!(page.items.len() <= 7, "a page holds at most the limit");
            let revision = page.revision;
            if let Some(expected) = opts.revision {
                assert_eq!(revision, expected, "later pages read the first page's snapshot");
            }
            pages.extend(page.items);
            match page.next_key {
                Some(next) => {
                    opts.start_key = Some(next);
                    opts.revision = Some(revision);
                    tokio::task::yield_now().await;
                }
                None => break,
            }
        }
        let snapshot = opts.revision.unwrap_or_else(|| pages.iter().map(|kv| kv.mod_revision).max().unwrap_or(0));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut log = Vec::new();
        for w in writers {
            log.extend(w.await.unwrap());
        }
        log.sort_by_key(|(rev, _, _)| *rev);
        for (rev, key, value) in log.into_iter().filter(|(rev, _, _)| *rev <= snapshot) {
            match value {
                Some(v) => state.insert(key, (v, rev)),
                None => state.remove(&key),
            };
        }
        let keys: Vec<&str> = pages.iter().map(|kv| kv.key.as_str()).collect();
        let unique: HashSet<&str> = keys.iter().copied().collect();
        assert_eq!(unique.len(), keys.len(), "no key appears on two pages");
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "pages come in key order");
        let got: BTreeMap<String, (Bytes, Revision)> =
            pages.into_iter().map(|kv| (kv.key, (kv.value, kv.mod_revision))).collect();
        assert_eq!(got, state, "the pages hold exactly the state at revision {snapshot}");
    }

    pub async fn prefixes_respect_key_boundaries(store: &dyn Store) {
        for key in [
            "/registry/pods/default/a",
            "/registry/pods/default/ab",
            "/registry/pods/default2/x",
            "/registry/pods/default/a/sub",
        ] {
            store.create(key, val(key)).await.unwrap();
        }
        let list = |p: &'static str| async move {
            let res = store.list(&ListOptions { prefix: p.into(), ..Default::default() }).await.unwrap();
            res.items.into_iter().map(|kv| kv.key).collect::<Vec<_>>()
        };
        assert_eq!(
            list("/registry/pods/default").await,
            vec!["/registry/pods/default/a", "/registry/pods/default/a/sub", "/registry/pods/default/ab"]
        );
        assert_eq!(
            list("/registry/pods/default/a").await,
            vec!["/registry/pods/default/a/sub"],
            "…/a does not match …/ab"
        );
        assert_eq!(list("/registry/pods/default/ab/").await, Vec::<String>::new());
        let from = store.current_revision().await.unwrap();
        let mut stream = store.watch("/registry/pods/default/a", from).await.unwrap();
        store.update("/registry/pods/default/ab", val("x"), None).await.unwrap();
        store.update("/registry/pods/default2/x", val("x"), None).await.unwrap();
        let inside = store.update("/registry/pods/default/a/sub", val("x"), None).await.unwrap();
        assert_eq!(next_event(&mut stream).await.revision(), inside.mod_revision, "watch sees only its directory");
    }

    pub async fn values_up_to_the_limit_are_accepted(store: &dyn Store) {
        let big = Bytes::from(vec![b'x'; MAX_VALUE_BYTES]);
        let kv = store.create("/registry/big/ns/max", big.clone()).await.unwrap();
        assert_eq!(store.get("/registry/big/ns/max").await.unwrap().value.len(), MAX_VALUE_BYTES);
        let too_big = Bytes::from(vec![b'x'; MAX_VALUE_BYTES + 1]);
        let err = store.create("/registry/big/ns/over", too_big.clone()).await.unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "create over the limit must fail with TooLarge, got {err}");
        let err = store.update("/registry/big/ns/max", too_big, None).await.unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "update over the limit must fail with TooLarge, got {err}");
        assert_eq!(store.get("/registry/big/ns/max").await.unwrap().mod_revision, kv.mod_revision);
        assert!(store.get("/registry/big/ns/over").await.unwrap_err().is_not_found());
    }

    pub async fn large_lists_are_returned_whole(store: &dyn Store) {
        // Six 1 MiB objects: more than gRPC's default 4 MiB message limit.
        for i in 0..6 {
            store
                .create(&format!("/registry/large/ns/k{i}"), Bytes::from(vec![b'a' + i as u8; 1 << 20]))
                .await
                .unwrap();
        }
        let all = store.list(&ListOptions { prefix: "/registry/large/".into(), ..Default::default() }).await.unwrap();
        assert_eq!(all.items.len(), 6, "a 6 MiB list is returned whole");
        assert!(all.items.iter().all(|kv| kv.value.len() == 1 << 20));
    }

    pub async fn list_pages_report_what_remains(store: &dyn Store) {
        for i in 0..10 {
            store.create(&format!("/registry/r/ns/k{i}"), val("v")).await.unwrap();
        }
        let all = store.list(&ListOptions { prefix: "/registry/r/".into(), ..Default::default() }).await.unwrap();
        assert_eq!((all.items.len(), all.next_key.clone()), (10, None), "an unlimited list returns everything");
        let page = store
            .list(&ListOptions { prefix: "/registry/r/".into(), limit: Some(10), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(page.next_key, None, "a limit equal to the count leaves nothing to continue");
        let page = store
            .list(&ListOptions { prefix: "/registry/r/".into(), limit: Some(4), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 4);
        assert!(page.next_key.is_some());
        if let Some(remaining) = page.remaining {
            assert_eq!(remaining, 6);
        }
    }
}

macro_rules! behaviour_suite {
    ($backend:ident) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn revisions_increase_monotonically() {
                let b = super::$backend().await;
                suite::revisions_increase_monotonically(&*b.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn create_only_if_absent() {
                let b = super::$backend().await;
                suite::create_only_if_absent(&*b.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn updates_and_deletes_compare_and_swap() {
                let b = super::$backend().await;
                suite::updates_and_deletes_compare_and_swap(&*b.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_increments_are_exact() {
                let b = super::$backend().await;
                suite::concurrent_increments_are_exact(Arc::clone(&b.store)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn watch_delivers_every_change_in_order() {
                let b = super::$backend().await;
                suite::watch_delivers_every_change_in_order(&*b.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn watch_from_compacted_revision_fails() {
                let b = super::$backend().await;
                suite::watch_from_compacted_revision_fails(&*b.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn paged_list_reads_one_snapshot_under_writes() {
                let b = super::$backend().await;
                suite::paged_list_reads_one_snapshot_under_writes(Arc::clone(&b.store)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn prefixes_respect_key_boundaries() {
                let b = super::$backend().await;
                suite::prefixes_respect_key_boundaries(&*b.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn values_up_to_the_limit_are_accepted() {
                let b = super::$backend().await;
                suite::values_up_to_the_limit_are_accepted(&*b.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn large_lists_are_returned_whole() {
                let b = super::$backend().await;
                suite::large_lists_are_returned_whole(&*b.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn list_pages_report_what_remains() {
                let b = super::$backend().await;
                suite::list_pages_report_what_remains(&*b.store).await;
            }
        }
    };
}

behaviour_suite!(memory);
behaviour_suite!(sqlite);
behaviour_suite!(etcd);

/// Watchers that fall behind the in-memory ring catch up from the backend's log.
mod ring_overflow {
    use super::*;

    async fn lagging_watcher_catches_up(store: &dyn Store) {
        let from = store.current_revision().await.unwrap();
        let mut stream = store.watch("/registry/lag/", from).await.unwrap();
        let mut expected = Vec::new();
        for i in 0..50 {
            expected.push(store.create(&format!("/registry/lag/ns/k{i}"), val("v")).await.unwrap().mod_revision);
        }
        let mut got = Vec::new();
        for _ in 0..50 {
            got.push(next_event(&mut stream).await.revision());
        }
        assert_eq!(got, expected, "a watcher 50 events behind a 4-event ring still sees every event");
    }

    #[tokio::test]
    async fn memory() {
        lagging_watcher_catches_up(&MemoryStore::with_watch_capacity(4)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = SqliteOptions::new(dir.path().join("s.db"));
        opts.watch_capacity = 4;
        lagging_watcher_catches_up(&SqliteStore::open_with(opts).await.unwrap()).await;
    }
}
