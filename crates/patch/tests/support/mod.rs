//! Fixtures shared by the integration tests: object builders and a small deterministic generator.

#![allow(dead_code)]

use rustkube_patch::{PatchError, PatchType, Schema, apply_patch, schema_for};
use serde_json::{Map, Value, json};

/// The Pod schema.
pub fn pod_schema() -> &'static Schema {
    schema_for("", "Pod").expect("Pod has a schema")
}

/// Applies a strategic merge patch given as a JSON value.
pub fn smp(original: &Value, patch: &Value, schema: &'static Schema) -> Result<Value, PatchError> {
    apply_patch(PatchType::StrategicMerge, original, patch.to_string().as_bytes(), Some(schema))
}

/// A container named `name` running `image`.
pub fn container(name: &str, image: &str) -> Value {
    json!({"name": name, "image": image})
}

/// A pod whose spec has `containers`.
pub fn pod_with(containers: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
}

/// A deterministic xorshift generator: property tests must be reproducible.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A random subset of `items` in random order.
    pub fn shuffled_subset<T: Clone>(&mut self, items: &[T]) -> Vec<T> {
        let mut out: Vec<T> = items.iter().filter(|_| self.chance(60)).cloned().collect();
        for i in (1..out.len()).rev() {
            let j = self.below(i + 1);
            out.swap(i, j);
        }
        out
    }

    fn string_map(&mut self, keys: &[&str], values: &[&str]) -> Value {
        let mut map = Map::new();
        for k in self.shuffled_subset(keys) {
            map.insert(k.to_owned(), json!(self.pick(values)));
        }
        Value::Object(map)
    }

    fn maybe(&mut self, map: &mut Map<String, Value>, key: &str, value: Value) {
        if self.chance(70) {
            map.insert(key.to_owned(), value);
        }
    }

    fn container(&mut self, name: &str) -> Value {
        let mut c = Map::new();
        c.insert("name".into(), json!(name));
        c.insert("image".into(), json!(self.pick(&["nginx:1.25", "nginx:1.26", "busybox", "envoy:v1"])));
        let env: Vec<Value> = self
            .shuffled_subset(&["A", "B", "C", "D"])
            .into_iter()
            .map(|n| {
                if self.chance(80) {
                    json!({"name": n, "value": self.pick(&["1", "2", "x"])})
                } else {
                    json!({"name": n, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
                }
            })
            .collect();
        self.maybe(&mut c, "env", Value::Array(env));
        let ports: Vec<Value> = self
            .shuffled_subset(&[80, 443, 8080])
            .into_iter()
            .map(|p| {
                if self.chance(50) {
                    json!({"containerPort": p, "protocol": "TCP"})
                } else {
                    json!({"containerPort": p, "name": format!("p{p}")})
                }
            })
            .collect();
        self.maybe(&mut c, "ports", Value::Array(ports));
        let mounts: Vec<Value> = self
            .shuffled_subset(&["/data", "/cfg", "/tmp"])
            .into_iter()
            .map(|m| json!({"mountPath": m, "name": self.pick(&["v1", "v2"]), "readOnly": self.chance(50)}))
            .collect();
        self.maybe(&mut c, "volumeMounts", Value::Array(mounts));
        let args = Value::Array(self.shuffled_subset(&["--a", "--b", "--c"]).into_iter().map(Value::from).collect());
        self.maybe(&mut c, "args", args);
        let limits = self.string_map(&["cpu", "memory"], &["1", "2", "512Mi"]);
        self.maybe(&mut c, "resources", json!({"limits": limits}));
        Value::Object(c)
    }

    fn volume(&mut self, name: &str) -> Value {
        match self.below(3) {
            0 => json!({"name": name, "configMap": {"name": self.pick(&["c1", "c2"])}}),
            1 => json!({"name": name, "secret": {"secretName": self.pick(&["s1", "s2"])}}),
            _ => json!({"name": name, "emptyDir": {}}),
        }
    }

    /// A pod drawn from small vocabularies, so that two draws overlap a lot.
    pub fn pod(&mut self) -> Value {
        let mut meta = Map::new();
        meta.insert("name".into(), json!("p"));
        let labels = self.string_map(&["app", "tier", "env", "team"], &["a", "b", "c"]);
        self.maybe(&mut meta, "labels", labels);
        let annotations = self.string_map(&["note", "owner"], &["x", "y"]);
        self.maybe(&mut meta, "annotations", annotations);
        let finalizers =
            Value::Array(self.shuffled_subset(&["a/x", "b/y", "c/z", "d/w"]).into_iter().map(Value::from).collect());
        self.maybe(&mut meta, "finalizers", finalizers);
        let owners: Vec<Value> = self
            .shuffled_subset(&["u1", "u2", "u3"])
            .into_iter()
            .map(|uid| json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("rs-{uid}"), "uid": uid, "controller": self.chance(50)}))
            .collect();
        self.maybe(&mut meta, "ownerReferences", Value::Array(owners));

        let mut spec = Map::new();
        let names = self.shuffled_subset(&["web", "sidecar", "proxy", "log"]);
        let containers: Vec<Value> = names.iter().map(|n| self.container(n)).collect();
        spec.insert("containers".into(), Value::Array(containers));
        let init: Vec<Value> = self.shuffled_subset(&["setup", "migrate"]).iter().map(|n| self.container(n)).collect();
        self.maybe(&mut spec, "initContainers", Value::Array(init));
        let volumes: Vec<Value> = self.shuffled_subset(&["v1", "v2", "v3"]).iter().map(|n| self.volume(n)).collect();
        self.maybe(&mut spec, "volumes", Value::Array(volumes));
        let tolerations: Vec<Value> = self
            .shuffled_subset(&["gpu", "spot"])
            .into_iter()
            .map(|k| json!({"key": k, "operator": "Exists", "effect": "NoSchedule"}))
            .collect();
        self.maybe(&mut spec, "tolerations", Value::Array(tolerations));
        let node_selector = self.string_map(&["zone", "disk"], &["a", "ssd"]);
        self.maybe(&mut spec, "nodeSelector", node_selector);
        let aliases: Vec<Value> = self
            .shuffled_subset(&["10.0.0.1", "10.0.0.2"])
            .into_iter()
            .map(|ip| json!({"ip": ip, "hostnames": self.shuffled_subset(&["a", "b"])}))
            .collect();
        self.maybe(&mut spec, "hostAliases", Value::Array(aliases));
        let restart = json!(self.pick(&["Always", "Never"]));
        self.maybe(&mut spec, "restartPolicy", restart);
        let grace = json!(self.below(60));
        self.maybe(&mut spec, "terminationGracePeriodSeconds", grace);

        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
    }

    /// A small edit of `pod`: one image, label, finalizer order or container set changes.
    pub fn edit(&mut self, pod: &Value) -> Value {
        let mut out = pod.clone();
        match self.below(5) {
            0 => {
                if let Some(c) = out.pointer_mut("/spec/containers/0") {
                    c["image"] = json!("edited:1");
                }
            }
            1 => {
                out["metadata"]["labels"] = json!({"edited": "yes"});
            }
            2 => {
                if let Some(Value::Array(f)) = out.pointer_mut("/metadata/finalizers") {
                    f.reverse();
                }
            }
            3 => {
                if let Some(Value::Array(cs)) = out.pointer_mut("/spec/containers") {
                    if !cs.is_empty() {
                        cs.remove(0);
                    }
                    cs.push(json!({"name": "added", "image": "new"}));
                }
            }
            _ => {
                if let Some(Value::Object(spec)) = out.get_mut("spec") {
                    spec.remove("volumes");
                }
            }
        }
        out
    }
}
