//! Custom resources: CRDs become served resources, driven with the real
//! kubectl and with kube-rs's dynamic API, on the embedded store and on etcd.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, conditions, wait::await_condition, watcher};
use serde_json::{Value, json};
use support::{Apiserver, BACKENDS};

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    additionalPrinterColumns:
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Color
      type: string
      jsonPath: .spec.color
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [color]
            properties:
              color:
                type: string
                enum: [red, green, blue]
              replicas:
                type: integer
                minimum: 0
                default: 1
              size:
                type: string
                default: medium
          status:
            type: object
            properties:
              replicas:
                type: integer
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

const WIDGET: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  color: red
"#;

#[test]
fn kubectl_serves_custom_resources_from_a_crd() {
    for &backend in BACKENDS {
        for kubectl in ["1.33", "1.27"] {
            let s = Apiserver::start_on(backend, &[]);
            let apply = s.kubectl_stdin(kubectl, &["apply", "-f", "-"], CRD);
            assert!(apply.status.success(), "{}", String::from_utf8_lossy(&apply.stderr));
            s.ok(kubectl, &["wait", "--for=condition=Established", "--timeout=20s", "crd/widgets.example.com"]);
            let out = s.ok(
                kubectl,
                &[
                    "get",
                    "crd",
                    "widgets.example.com",
                    "-o",
                    "jsonpath={.status.acceptedNames.kind} {.status.storedVersions}",
                ],
            );
            assert_eq!(out.trim(), "Widget [\"v1\"]", "{backend:?} {kubectl}");

            let resources = s.ok(kubectl, &["api-resources", "--api-group=example.com"]);
            assert!(
                resources.contains("widgets") && resources.contains("wd") && resources.contains("Widget"),
                "{resources}"
            );

            // kubectl explain reads the CRD schema from /openapi/v3.
            let explain = s.ok(kubectl, &["explain", "widgets.spec"]);
            assert!(explain.contains("KIND:") && explain.contains("Widget"), "{explain}");
            assert!(
                explain.contains("color") && explain.contains("replicas") && explain.contains("-required-"),
                "{explain}"
            );

            let created = s.kubectl_stdin(kubectl, &["apply", "-f", "-"], WIDGET);
            assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
            // Defaults from the schema; printer columns from the CRD.
            let got = s.ok(kubectl, &["get", "widget", "w1", "-o", "jsonpath={.spec.replicas} {.spec.size}"]);
            assert_eq!(got.trim(), "1 medium", "{backend:?} {kubectl}");
            let table = s.ok(kubectl, &["get", "wd"]);
            let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
            assert_eq!(header, ["NAME", "REPLICAS", "COLOR", "AGE"], "{table}");
            assert!(table.lines().nth(1).unwrap().starts_with("w1"), "{table}");
            assert!(s.ok(kubectl, &["get", "all", "-o", "name"]).contains("widget.example.com/w1"), "category all");

            // Three-way apply after an edit, scale, and a merge patch.
            let edited = WIDGET.replace("color: red", "color: blue\n  replicas: 2");
            let reapply = s.kubectl_stdin(kubectl, &["apply", "-f", "-"], &edited);
            assert!(reapply.status.success(), "{}", String::from_utf8_lossy(&reapply.stderr));
            s.ok(kubectl, &["scale", "widget/w1", "--replicas=4"]);
            s.ok(kubectl, &["patch", "widget", "w1", "--type=merge", "-p", r#"{"spec":{"size":"large"}}"#]);
            let got = s.ok(
                kubectl,
                &[
                    "get",
                    "widget",
                    "w1",
                    "-o",
                    "jsonpath={.spec.color} {.spec.replicas} {.spec.size} {.metadata.generation}",
                ],
            );
            assert_eq!(got.trim(), "blue 4 large 4", "{backend:?} {kubectl}");
            s.ok(kubectl, &["label", "widget", "w1", "tier=front"]);
            assert_eq!(s.ok(kubectl, &["get", "wd", "-l", "tier=front", "-o", "name"]).trim(), "widget.example.com/w1");
            // Read through the other served version.
            let beta = s.ok(kubectl, &["get", "widgets.v1beta1.example.com", "w1", "-o", "jsonpath={.apiVersion}"]);
            assert_eq!(beta.trim(), "example.com/v1beta1");

            // Schema violations are 422 with the field named; a strategic merge patch is refused.
            let bad =
                s.kubectl_stdin(kubectl, &["apply", "-f", "-"], &WIDGET.replace("w1", "w2").replace("red", "purple"));
            let err = String::from_utf8_lossy(&bad.stderr);
            assert!(!bad.status.success() && err.contains("spec.color") && err.contains("purple"), "{err}");
            let smp = s.kubectl(kubectl, &["patch", "widget", "w1", "-p", r#"{"spec":{"size":"small"}}"#]);
            assert!(!smp.status.success(), "strategic merge patch of a custom resource must be refused");

            // Deleting the CRD deletes its objects, then the CRD itself.
            s.ok(kubectl, &["delete", "crd", "widgets.example.com", "--wait=true", "--timeout=30s"]);
            let gone = s.kubectl(kubectl, &["get", "widgets"]);
            assert!(!gone.status.success(), "widgets still served after the CRD was deleted");
            let recreated = s.kubectl_stdin(kubectl, &["apply", "-f", "-"], CRD);
            assert!(recreated.status.success());
            s.ok(kubectl, &["wait", "--for=condition=Established", "--timeout=20s", "crd/widgets.example.com"]);
            assert_eq!(s.ok(kubectl, &["get", "widgets", "-o", "name"]).trim(), "", "old objects must not come back");
        }
    }
}

async fn install_crd(client: kube::Client) -> Api<CustomResourceDefinition> {
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    let crd: CustomResourceDefinition = serde_yaml_from(CRD);
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let established = await_condition(crds.clone(), "widgets.example.com", conditions::is_crd_established());
    tokio::time::timeout(Duration::from_secs(20), established).await.expect("CRD established in time").unwrap();
    crds
}

fn serde_yaml_from<T: serde::de::DeserializeOwned>(yaml: &str) -> T {
    serde_yaml::from_str(yaml).expect("valid YAML")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_dynamic_api_status_watch_and_generation() {
    let s = Apiserver::start(&[]);
    let client = s.client().await;
    install_crd(client.clone()).await;
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "widgets");
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watched = widgets.clone();
    let watch = tokio::spawn(async move {
        let mut stream = watcher(watched, watcher::Config::default()).applied_objects().boxed();
        while let Some(Ok(obj)) = stream.next().await {
            let _ = tx.send((obj.metadata.name.clone().unwrap_or_default(), obj.data["spec"]["color"].clone()));
        }
    });

    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": { "name": "k1" }, "spec": { "color": "green", "bogus": true }
    }))
    .unwrap();
    let created = widgets.create(&PostParams::default(), &obj).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.data["spec"]["replicas"], 1, "defaulted");
    assert!(created.data["spec"].get("bogus").is_none(), "pruned");
    let seen = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
    assert_eq!(seen, ("k1".to_owned(), json!("green")));

    // Status only through /status; generation moves with spec only.
    let status = widgets
        .patch_status("k1", &PatchParams::default(), &Patch::Merge(json!({ "status": { "replicas": 3 } })))
        .await
        .unwrap();
    assert_eq!((status.data["status"]["replicas"].clone(), status.metadata.generation), (json!(3), Some(1)));
    let main = widgets
        .patch(
            "k1",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "color": "blue" }, "status": { "replicas": 9 } })),
        )
        .await
        .unwrap();
    assert_eq!(main.data["status"]["replicas"], 3, "status is not writable through the main resource");
    assert_eq!(main.metadata.generation, Some(2));
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (name, color) = rx.recv().await.unwrap();
            if name == "k1" && color == "blue" {
                return;
            }
        }
    })
    .await;
    assert!(seen.is_ok(), "watcher saw the spec change");

    // Strict field validation refuses unknown fields; invalid values are 422 naming the field.
    let strict = PostParams { field_manager: None, dry_run: false };
    let bad: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "k2" }, "spec": { "color": "green", "replicas": -1 }
    }))
    .unwrap();
    match widgets.create(&strict, &bad).await {
        Err(kube::Error::Api(e)) => {
            assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
            assert!(e.message.contains("spec.replicas"), "{}", e.message);
        }
        other => panic!("expected 422, got {other:?}"),
    }
    let raw = client
        .request_text(
            http::Request::post("/apis/example.com/v1/namespaces/default/widgets?fieldValidation=Strict")
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&json!({
                    "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "k3" }, "spec": { "color": "red", "nope": 1 }
                }))
                .unwrap())
                .unwrap(),
        )
        .await;
    match raw {
        Err(kube::Error::Api(e)) => {
            assert!(e.code == 400 && e.message.contains("unknown field \"spec.nope\""), "{e:?}")
        }
        other => panic!("expected 400, got {other:?}"),
    }

    // Aggregated discovery lists the group; a kube-rs discovery run finds the kind.
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let group = discovery.groups().find(|g| g.name() == "example.com").expect("example.com discovered");
    assert!(group.recommended_kind("Widget").is_some());
    assert_eq!(group.preferred_version_or_latest(), "v1");

    widgets.delete("k1", &DeleteParams::default()).await.unwrap();
    watch.abort();
}

fn value_of(v: &Value, path: &str) -> Value {
    v.pointer(path).cloned().unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_scoped_resources_and_name_conflicts() {
    let s = Apiserver::start(&[]);
    let client = s.client().await;
    let crds = install_crd(client.clone()).await;
    // A second CRD wanting the short name "wd" in the same group is not accepted.
    let mut clash: Value = serde_json::to_value(serde_yaml_from::<CustomResourceDefinition>(CRD)).unwrap();
    clash["metadata"]["name"] = json!("gizmos.example.com");
    clash["spec"]["names"] = json!({ "plural": "gizmos", "kind": "Gizmo", "shortNames": ["wd"] });
    clash["spec"]["scope"] = json!("Cluster");
    let clash: CustomResourceDefinition = serde_json::from_value(clash).unwrap();
    crds.create(&PostParams::default(), &clash).await.unwrap();
    let refused = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let c = serde_json::to_value(crds.get("gizmos.example.com").await.unwrap()).unwrap();
            let conds = value_of(&c, "/status/conditions");
            if let Some(na) = conds.as_array().and_then(|a| a.iter().find(|c| c["type"] == "NamesAccepted")) {
                return na.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(refused["status"], "False", "{refused}");
    // Without the clash it becomes a cluster-scoped resource.
    crds.patch(
        "gizmos.example.com",
        &PatchParams::default(),
        &Patch::Merge(json!({ "spec": { "names": { "shortNames": ["gz"] } } })),
    )
    .await
    .unwrap();
    let established = await_condition(crds.clone(), "gizmos.example.com", conditions::is_crd_established());
    tokio::time::timeout(Duration::from_secs(20), established).await.unwrap().unwrap();
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Gizmo");
    let gizmos: Api<DynamicObject> = Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, "gizmos"));
    let g: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": { "name": "g1", "namespace": "default" }, "spec": { "color": "red" }
    }))
    .unwrap();
    let created = gizmos.create(&PostParams::default(), &g).await.unwrap();
    assert_eq!(created.metadata.namespace, None, "cluster-scoped");
    let out = s.ok("1.33", &["get", "gizmos"]);
    assert!(out.contains("g1"), "{out}");
}
