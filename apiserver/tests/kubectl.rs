//! The real kubectl (1.33 and 1.27) against the real kube-apiserver binary,
//! on the embedded store and on a real etcd.

mod support;

use std::time::{Duration, Instant};

use support::{Apiserver, BACKENDS, Backend};

const VERSIONS: &[&str] = &["1.33", "1.27"];

const APP: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: demo
data:
  mode: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: demo
stringData:
  password: hunter2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "infinity"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  selector: {app: web}
  ports:
  - port: 80
"#;

fn write(dir: &std::path::Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn namespaces_exist_at_start_and_discovery_works() {
    for backend in BACKENDS {
        let s = Apiserver::start_on(*backend, &[]);
        for v in VERSIONS {
            let out = s.ok(v, &["get", "namespaces", "-o", "name"]);
            for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                assert!(out.contains(&format!("namespace/{ns}")), "{backend:?} kubectl {v}: {ns} missing from {out}");
            }
            let resources = s.ok(v, &["api-resources"]);
            for needle in ["deployments", "deploy", "apps/v1", "Deployment", "horizontalpodautoscalers"] {
                assert!(resources.contains(needle), "kubectl {v} api-resources lacks {needle}:\n{resources}");
            }
            let versions = s.ok(v, &["api-versions"]);
            assert!(versions.contains("apps/v1") && versions.lines().any(|l| l == "v1"), "{versions}");
            let svc = s.ok(v, &["get", "service", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}"]);
            assert_eq!(svc, "10.96.0.1");
            let deleting = s.kubectl(v, &["delete", "namespace", "kube-system", "--wait=false"]);
            assert!(!deleting.status.success(), "kube-system may not be deleted");
            assert!(String::from_utf8_lossy(&deleting.stderr).contains("may not be deleted"));
        }
    }
}

#[test]
fn apply_edit_reapply_and_every_output_format() {
    for backend in BACKENDS {
        let s = Apiserver::start_on(*backend, &[]);
        let dir = s.dir.path().to_owned();
        let file = write(&dir, "app.yaml", APP);
        let out = s.ok("1.33", &["apply", "-f", &file]);
        for line in [
            "namespace/demo created",
            "configmap/settings created",
            "secret/creds created",
            "deployment.apps/web created",
            "service/web created",
        ] {
            assert!(out.contains(line), "{backend:?}: apply output lacks {line:?}: {out}");
        }
        // Table, wide, yaml, json, jsonpath and name output.
        let table = s.ok("1.33", &["get", "deployments", "-n", "demo"]);
        assert!(table.starts_with("NAME   READY   UP-TO-DATE   AVAILABLE   AGE"), "deployment columns: {table}");
        let wide = s.ok("1.33", &["get", "deployments", "-n", "demo", "-o", "wide"]);
        assert!(
            wide.contains("CONTAINERS") && wide.contains("nginx:1.25,busybox:1.36") && wide.contains("app=web"),
            "{wide}"
        );
        let svc = s.ok("1.33", &["get", "svc", "web", "-n", "demo"]);
        assert!(svc.contains("ClusterIP") && svc.contains("80/TCP"), "service row: {svc}");
        let yaml = s.ok("1.33", &["get", "cm", "settings", "-n", "demo", "-o", "yaml"]);
        assert!(yaml.contains("mode: blue") && yaml.contains("resourceVersion:"), "{yaml}");
        let json: serde_json::Value =
            serde_json::from_str(&s.ok("1.33", &["get", "deploy", "web", "-n", "demo", "-o", "json"])).unwrap();
        assert_eq!(json["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%", "deployment defaults applied");
        assert_eq!(json["metadata"]["generation"], 1);
        let secret = s.ok("1.33", &["get", "secret", "creds", "-n", "demo", "-o", "jsonpath={.data.password}"]);
        assert_eq!(secret, "aHVudGVyMg==", "stringData is folded into base64 data");
        assert_eq!(s.ok("1.33", &["get", "svc", "-n", "demo", "-o", "name"]).trim(), "service/web");
        // Edit the file and apply again: a three-way strategic merge.
        s.ok("1.33", &["scale", "deployment", "web", "-n", "demo", "--replicas=5"]);
        let edited =
            APP.replace("nginx:1.25", "nginx:1.26").replace("mode: blue", "mode: green").replace("  replicas: 2\n", "");
        let file2 = write(&dir, "app2.yaml", &edited);
        let out = s.ok("1.27", &["apply", "-f", &file2]);
        assert!(
            out.contains("deployment.apps/web configured") && out.contains("configmap/settings configured"),
            "{out}"
        );
        let images = s.ok(
            "1.33",
            &[
                "get",
                "deploy",
                "web",
                "-n",
                "demo",
                "-o",
                "jsonpath={.spec.template.spec.containers[*].image} {.spec.replicas} {.metadata.generation}",
            ],
        );
        // As upstream: a field dropped from the applied file is removed from the live object
        // (three-way merge), and defaulting then sets replicas back to 1.
        assert_eq!(images, "nginx:1.26 busybox:1.36 1 3", "image changed, sidecar kept, dropped replicas removed");
        // Re-applying the same file changes nothing.
        let out = s.ok("1.33", &["apply", "-f", &file2]);
        assert!(out.contains("deployment.apps/web unchanged"), "{out}");
        // set image and label/annotate.
        s.ok("1.33", &["set", "image", "deployment/web", "-n", "demo", "sidecar=busybox:1.37"]);
        assert_eq!(
            s.ok(
                "1.33",
                &["get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.template.spec.containers[1].image}"]
            ),
            "busybox:1.37"
        );
    }
}

fn label_annotate_patch_replace_edit_and_conflicts(backend: Backend) {
    let s = Apiserver::start_on(backend, &[]);
    let dir = s.dir.path().to_owned();
    for v in VERSIONS {
        let name = format!("cm-{}", v.replace('.', "-"));
        let manifest = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n");
        let file = write(&dir, &format!("{name}.yaml"), &manifest);
        s.ok(v, &["create", "-f", &file]);
        let dup = s.kubectl(v, &["create", "-f", &file]);
        assert!(
            String::from_utf8_lossy(&dup.stderr).contains("already exists"),
            "{}",
            String::from_utf8_lossy(&dup.stderr)
        );
        s.ok(v, &["label", "configmap", &name, "tier=web"]);
        s.ok(v, &["annotate", "configmap", &name, "note=hello"]);
        assert_eq!(s.ok(v, &["get", "configmap", "-l", "tier=web", "-o", "name"]).trim(), format!("configmap/{name}"));
        assert_eq!(s.ok(v, &["get", "configmap", "-l", "tier in (db),tier!=web", "-o", "name"]).trim(), "");
        let by_field =
            s.ok(v, &["get", "configmap", "--field-selector", &format!("metadata.name={name}"), "-o", "name"]);
        assert_eq!(by_field.trim(), format!("configmap/{name}"));
        s.ok(v, &["patch", "configmap", &name, "--type=merge", "-p", r#"{"data":{"c":"d"}}"#]);
        s.ok(
            v,
            &["patch", "configmap", &name, "--type=json", "-p", r#"[{"op":"replace","path":"/data/a","value":"z"}]"#],
        );
        s.ok(v, &["patch", "configmap", &name, "-p", r#"{"metadata":{"labels":{"tier":null}}}"#]);
        assert_eq!(s.ok(v, &["get", "configmap", &name, "-o", "jsonpath={.data.a}{.data.c}{.metadata.labels}"]), "zd");
        // replace with a stale resourceVersion is a 409 Conflict.
        let json = s.ok(v, &["get", "configmap", &name, "-o", "json"]);
        let mut obj: serde_json::Value = serde_json::from_str(&json).unwrap();
        s.ok(v, &["label", "configmap", &name, "x=y"]);
        obj["data"] = serde_json::json!({"k": "v"});
        let stale = write(&dir, "stale.json", &obj.to_string());
        let out = s.kubectl(v, &["replace", "-f", &stale]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("the object has been modified"), "409 expected: {err}");
        // replace without a resourceVersion overwrites.
        obj["metadata"].as_object_mut().unwrap().remove("resourceVersion");
        let fresh = write(&dir, "fresh.json", &obj.to_string());
        s.ok(v, &["replace", "-f", &fresh]);
        assert_eq!(s.ok(v, &["get", "configmap", &name, "-o", "jsonpath={.data.k}"]), "v");
        // kubectl edit with a scripted editor.
        let editor = write(&dir, "editor.sh", "#!/bin/sh\nsed -i 's/k: v/k: edited/' \"$1\"\n");
        std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let out = std::process::Command::new(support::kubectl_binary(v))
            .arg(format!("--kubeconfig={}", s.kubeconfig().display()))
            .args(["edit", "configmap", &name])
            .env("KUBE_EDITOR", &editor)
            .output()
            .unwrap();
        assert!(out.status.success(), "kubectl edit: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(s.ok(v, &["get", "configmap", &name, "-o", "jsonpath={.data.k}"]), "edited");
        s.ok(v, &["delete", "configmap", &name]);
        let gone = s.kubectl(v, &["get", "configmap", &name]);
        assert!(
            String::from_utf8_lossy(&gone.stderr).contains("not found"),
            "{}",
            String::from_utf8_lossy(&gone.stderr)
        );
    }
}

#[test]
fn paging_dry_run_and_invalid_objects() {
    for backend in BACKENDS {
        let s = Apiserver::start_on(*backend, &[]);
        for i in 0..12 {
            s.ok("1.27", &["create", "configmap", &format!("page-{i:02}")]);
        }
        let names = s.ok("1.33", &["get", "configmaps", "--chunk-size=5", "-o", "name"]);
        let got: Vec<&str> = names.lines().filter(|l| l.contains("page-")).collect();
        assert_eq!(got.len(), 12, "{backend:?}: all 12 configmaps across 3 chunks: {names}");
        // Server-side dry run persists nothing.
        s.ok("1.27", &["create", "configmap", "dry", "--dry-run=server"]);
        assert!(!s.kubectl("1.33", &["get", "configmap", "dry"]).status.success(), "dry-run create persisted");
        s.ok("1.33", &["delete", "configmap", "page-00", "--dry-run=server"]);
        s.ok("1.33", &["get", "configmap", "page-00"]);
        // Unknown fields: kubectl asks for fieldValidation=Strict and the server refuses them;
        // with --validate=warn they are dropped with a warning (--validate=false: silently).
        let dir = s.dir.path().to_owned();
        let typo = write(&dir, "typo.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndta:\n  a: b\n");
        for v in VERSIONS {
            let out = s.kubectl(v, &["create", "-f", &typo]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success() && err.contains("unknown field \"dta\""),
                "kubectl {v}: strict field validation: {err}"
            );
        }
        let out = s.kubectl("1.33", &["create", "-f", &typo, "--validate=warn"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field \"dta\""), "warning shown");
        assert_eq!(s.ok("1.33", &["get", "cm", "typo", "-o", "jsonpath={.dta}"]), "", "unknown field dropped");
        // A bad object is a 422 naming each bad field.
        let bad = write(
            &dir,
            "bad.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers:\n  - name: c\n",
        );
        let out = s.kubectl("1.33", &["create", "-f", &bad, "--validate=false"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("is invalid")
                && err.contains("metadata.name")
                && err.contains("spec.containers[0].image: Required value"),
            "{err}"
        );
    }
}

fn delete_propagation_policies_and_watch(backend: Backend) {
    let s = Apiserver::start_on(backend, &[]);
    let dir = s.dir.path().to_owned();
    let file = write(&dir, "app.yaml", APP);
    s.ok("1.33", &["apply", "-f", &file]);
    // Watch sees later changes.
    let mut watch = std::process::Command::new(support::kubectl_binary("1.33"))
        .arg(format!("--kubeconfig={}", s.kubeconfig().display()))
        .args(["get", "configmaps", "-n", "demo", "-w", "-o", "name"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    s.ok("1.27", &["create", "configmap", "later", "-n", "demo"]);
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("configmap/later")) {
        assert!(Instant::now() < deadline, "watch did not report the new configmap: {seen:?}");
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    // Orphan and foreground leave the owner in place, marked, until the garbage collector acts.
    s.ok("1.33", &["delete", "deployment", "web", "-n", "demo", "--cascade=orphan", "--wait=false"]);
    let fin = s.ok(
        "1.33",
        &["get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.metadata.finalizers} {.metadata.deletionTimestamp}"],
    );
    assert!(fin.contains("orphan") && fin.len() > 12, "orphan finalizer and deletionTimestamp: {fin}");
    s.ok("1.33", &["delete", "configmap", "settings", "-n", "demo", "--cascade=foreground", "--wait=false"]);
    let fin = s.ok("1.33", &["get", "cm", "settings", "-n", "demo", "-o", "jsonpath={.metadata.finalizers}"]);
    assert!(fin.contains("foregroundDeletion"), "{fin}");
    // Removing the last finalizer of an object being deleted deletes it.
    s.ok(
        "1.33",
        &[
            "patch",
            "cm",
            "settings",
            "-n",
            "demo",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ],
    );
    assert!(!s.kubectl("1.33", &["get", "cm", "settings", "-n", "demo"]).status.success(), "finalized object removed");
    s.ok("1.33", &["delete", "secret", "creds", "-n", "demo", "--cascade=background"]);
    assert!(!s.kubectl("1.33", &["get", "secret", "creds", "-n", "demo"]).status.success());
    // Creating in a namespace that is being deleted is refused.
    s.ok("1.33", &["delete", "namespace", "demo", "--wait=false"]);
    let out = s.kubectl("1.27", &["create", "configmap", "late", "-n", "demo"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("being terminated"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// kubectl 1.32+ sends typed creates as protobuf; 1.27 as JSON. Both must work.
fn typed_create_commands_in_protobuf_and_json(backend: Backend) {
    let s = Apiserver::start_on(backend, &[]);
    for v in ["1.33", "1.32", "1.27"] {
        let ns = format!("gen-{}", v.replace('.', "-"));
        s.ok(v, &["create", "namespace", &ns]);
        s.ok(v, &["create", "configmap", "cm", "-n", &ns, "--from-literal=a=b"]);
        s.ok(v, &["create", "secret", "generic", "sec", "-n", &ns, "--from-literal=pw=hunter2"]);
        s.ok(v, &["create", "deployment", "dep", "-n", &ns, "--image=busybox:1.36", "--replicas=0"]);
        s.ok(v, &["create", "job", "job", "-n", &ns, "--image=busybox:1.36", "--", "true"]);
        s.ok(v, &["create", "serviceaccount", "sa", "-n", &ns]);
        s.ok(v, &["create", "service", "clusterip", "svc", "-n", &ns, "--tcp=80:8080"]);
        assert_eq!(s.ok("1.33", &["get", "cm", "cm", "-n", &ns, "-o", "jsonpath={.data.a}"]), "b", "kubectl {v}");
        assert_eq!(s.ok("1.33", &["get", "secret", "sec", "-n", &ns, "-o", "jsonpath={.data.pw}"]), "aHVudGVyMg==");
        assert_eq!(
            s.ok("1.33", &["get", "deploy", "dep", "-n", &ns, "-o", "jsonpath={.spec.replicas}"]),
            "0",
            "kubectl {v}: an explicit replicas: 0 survives"
        );
        let job = s.ok(
            "1.33",
            &["get", "job", "job", "-n", &ns, "-o", "jsonpath={.spec.template.spec.containers[0].command}"],
        );
        assert_eq!(job, r#"["true"]"#, "kubectl {v}");
        let svc = s.ok(
            "1.33",
            &["get", "svc", "svc", "-n", &ns, "-o", "jsonpath={.spec.ports[0].targetPort} {.spec.clusterIP}"],
        );
        assert!(svc.starts_with("8080 10."), "kubectl {v}: service port and allocated IP: {svc}");
    }
}

/// `explain` reads our OpenAPI documents; `diff` patches with dryRun=All.
fn explain_and_diff(backend: Backend) {
    let s = Apiserver::start_on(backend, &[]);
    for v in VERSIONS {
        let out = s.ok(v, &["explain", "pods.spec.containers.image"]);
        assert!(out.contains("FIELD:") && out.contains("image"), "kubectl {v} explain: {out}");
        let out = s.ok(v, &["explain", "deployment.spec.strategy"]);
        assert!(out.contains("rollingUpdate"), "kubectl {v} explain: {out}");
    }
    let dir = s.dir.path().to_owned();
    let file = write(&dir, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\ndata:\n  k: one\n");
    s.ok("1.33", &["apply", "-f", &file]);
    let changed = write(&dir, "cm2.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\ndata:\n  k: two\n");
    let out = s.kubectl("1.33", &["diff", "-f", &changed]);
    // kubectl diff exits 1 when there are differences.
    assert_eq!(out.status.code(), Some(1), "diff: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("-  k: one") && text.contains("+  k: two"), "diff output: {text}");
    assert_eq!(s.ok("1.33", &["get", "cm", "d", "-o", "jsonpath={.data.k}"]), "one", "diff changed nothing");
}

/// Runs a scenario once on the embedded store and once on a real etcd.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                use super::*;

                #[test]
                fn sqlite() {
                    super::$scenario(Backend::Sqlite);
                }

                #[test]
                fn etcd() {
                    super::$scenario(Backend::Etcd);
                }
            }
        )*
    };
}

on_both_backends!(
    label_annotate_patch_replace_edit_and_conflicts,
    delete_propagation_policies_and_watch,
    typed_create_commands_in_protobuf_and_json,
    explain_and_diff,
);

/// With --etcd-servers the objects are visibly in etcd under upstream's key layout.
#[test]
fn objects_are_stored_in_etcd_under_registry_keys() {
    let s = Apiserver::start_on(Backend::Etcd, &[]);
    s.ok("1.27", &["create", "configmap", "visible", "--from-literal=a=b"]);
    let endpoint = s.etcd.as_ref().expect("etcd backend").endpoint.clone();
    let keys = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            use rustkube_storage::Store;
            let store = rustkube_storage::etcd::EtcdStore::connect(&[endpoint]).await.unwrap();
            let list = store
                .list(&rustkube_storage::ListOptions { prefix: "/registry/".into(), ..Default::default() })
                .await
                .unwrap();
            list.items.into_iter().map(|kv| kv.key).collect::<Vec<_>>()
        })
    })
    .join()
    .unwrap();
    for key in [
        "/registry/configmaps/default/visible",
        "/registry/namespaces/kube-system",
        "/registry/services/specs/default/kubernetes",
        "/registry/services/endpoints/default/kubernetes",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from etcd: {keys:?}");
    }
}

#[test]
fn logs_and_exec_explain_why_no_kubelet_answers() {
    let s = Apiserver::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let pod = write(
        dir.path(),
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: lonely}\nspec:\n  containers:\n  - {name: a, image: busybox}\n  - {name: b, image: busybox}\n",
    );
    s.ok("1.33", &["apply", "-f", &pod]);
    for v in VERSIONS {
        let out = s.kubectl(v, &["logs", "lonely", "-c", "a"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("pod lonely does not have a host assigned"), "kubectl {v} logs: {err}");
        let out = s.kubectl(v, &["logs", "lonely", "-c", "zzz"]);
        assert!(!out.status.success());
    }
    // Bound to a node whose kubelet publishes no address: 503 naming the problem, not a hang.
    let node = write(dir.path(), "node.yaml", "apiVersion: v1\nkind: Node\nmetadata: {name: quiet}\n");
    s.ok("1.33", &["apply", "-f", &node]);
    let bound = write(
        dir.path(),
        "bound.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bound}\nspec:\n  nodeName: quiet\n  containers:\n  - {name: a, image: busybox}\n",
    );
    s.ok("1.33", &["apply", "-f", &bound]);
    let out = s.kubectl("1.33", &["logs", "bound"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no preferred addresses found"), "{err}");
    let out = s.kubectl("1.33", &["get", "--raw", "/api/v1/nodes/quiet/proxy/healthz"]);
    assert!(!out.status.success(), "node proxy to a node without addresses must fail");
}
