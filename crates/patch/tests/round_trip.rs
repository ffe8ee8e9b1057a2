//! Properties over generated objects: a computed patch, applied, gives exactly the target.

mod support;

use rustkube_patch::{create_three_way_merge_patch, create_two_way_merge_patch};
use serde_json::{Value, json};
use support::{Rng, pod_schema, smp};

const PAIRS: u64 = 400;

/// Pairs of pods: unrelated draws (large diffs) and small edits.
fn pairs() -> impl Iterator<Item = (u64, Value, Value)> {
    (0..PAIRS).map(|seed| {
        let mut rng = Rng::new(seed);
        let a = rng.pod();
        let b = if seed % 2 == 0 { rng.pod() } else { rng.edit(&a) };
        (seed, a, b)
    })
}

#[test]
fn two_way_patch_applied_gives_the_modified_object() {
    for (seed, a, b) in pairs() {
        let patch = create_two_way_merge_patch(&a, &b, Some(pod_schema()))
            .unwrap_or_else(|e| panic!("seed {seed}: computing: {e}"));
        let applied = smp(&a, &patch, pod_schema()).unwrap_or_else(|e| panic!("seed {seed}: applying {patch}: {e}"));
        assert_eq!(applied, b, "seed {seed}: patch {patch}");
    }
}

#[test]
fn two_way_patch_of_an_unchanged_object_is_empty() {
    for (seed, a, _) in pairs() {
        let patch = create_two_way_merge_patch(&a, &a, Some(pod_schema())).unwrap();
        assert_eq!(patch, json!({}), "seed {seed}");
    }
}

#[test]
fn three_way_patch_on_an_untouched_live_object_gives_the_new_file() {
    for (seed, a, b) in pairs() {
        let patch = create_three_way_merge_patch(&a, &b, &a, Some(pod_schema()), false)
            .unwrap_or_else(|e| panic!("seed {seed}: computing: {e}"));
        let applied = smp(&a, &patch, pod_schema()).unwrap_or_else(|e| panic!("seed {seed}: applying {patch}: {e}"));
        assert_eq!(applied, b, "seed {seed}: patch {patch}");
    }
}

#[test]
fn three_way_patch_keeps_fields_only_the_live_object_has() {
    for (seed, a, b) in pairs() {
        let mut live = a.clone();
        live["status"] = json!({"phase": "Running", "podIP": "10.244.0.5"});
        live["metadata"]["uid"] = json!("u-123");
        live["spec"]["nodeName"] = json!("node-1");
        let patch = create_three_way_merge_patch(&a, &b, &live, Some(pod_schema()), true)
            .unwrap_or_else(|e| panic!("seed {seed}: computing: {e}"));
        let applied = smp(&live, &patch, pod_schema()).unwrap_or_else(|e| panic!("seed {seed}: applying: {e}"));
        let mut expected = b.clone();
        expected["status"] = live["status"].clone();
        expected["metadata"]["uid"] = json!("u-123");
        expected["spec"]["nodeName"] = json!("node-1");
        assert_eq!(applied, expected, "seed {seed}: patch {patch}");
    }
}
