//! The namespace controller against the real apiserver: deleting a
//! namespace holding many kinds of objects empties it and removes it;
//! content held by a finalizer is reported in the namespace's conditions.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};

const T: Duration = Duration::from_secs(60);

const CONTENT: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: b}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {a: b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{port: 80}], selector: {app: x}}
---
apiVersion: v1
kind: Pod
metadata: {name: pod, labels: {app: x}}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: pt}
template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: busybox}]}}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec: {replicas: 0, selector: {app: rc}, template: {metadata: {labels: {app: rc}}, spec: {containers: [{name: c, image: busybox}]}}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: lr}
spec: {limits: [{type: Container, max: {cpu: "2"}}]}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: rq}
spec: {hard: {pods: "100"}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: pvc}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ep}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dep}
spec: {replicas: 2, selector: {matchLabels: {app: dep}}, template: {metadata: {labels: {app: dep}}, spec: {containers: [{name: c, image: busybox}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: sts}
spec: {replicas: 0, serviceName: svc, selector: {matchLabels: {app: sts}}, template: {metadata: {labels: {app: sts}}, spec: {containers: [{name: c, image: busybox}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec: {selector: {matchLabels: {app: ds}}, template: {metadata: {labels: {app: ds}}, spec: {containers: [{name: c, image: busybox}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: job}
spec: {suspend: true, template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec: {schedule: "*/5 * * * *", jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: role}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: role}
subjects: [{kind: ServiceAccount, name: sa}]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: lease}
spec: {holderIdentity: x}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb}
spec: {minAvailable: 1, selector: {matchLabels: {app: x}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec: {podSelector: {}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: hpa}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: dep}, minReplicas: 1, maxReplicas: 3}
"#;

fn kinds_in_content() -> usize {
    CONTENT.matches("\nkind: ").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_with_many_resource_types_empties_and_removes_it() {
    let c = Cluster::start(&[]).await;
    c.namespace("full").await;
    assert!(kinds_in_content() >= 20, "at least 20 resource types");
    let out =
        tokio::task::block_in_place(|| c.apiserver.kubectl_stdin("1.33", &["apply", "-n", "full", "-f", "-"], CONTENT));
    assert!(out.status.success(), "creating content: {}", String::from_utf8_lossy(&out.stderr));
    // The deployment's pods exist too.
    wait_for(T, "deployment pods", || async {
        (live_pods(&c.client, "full", "app=dep").await.len() == 2).then_some(())
    })
    .await;

    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    namespaces.delete("full", &DeleteParams::default()).await.unwrap();
    wait_for(T, "namespace gone", || async { namespaces.get_opt("full").await.unwrap().is_none().then_some(()) }).await;
    let left = tokio::task::block_in_place(|| {
        c.apiserver.ok(
            "1.33",
            &[
                "get",
                "configmaps,secrets,pods,deployments,replicasets,services,leases,roles",
                "-n",
                "full",
                "--no-headers",
                "--ignore-not-found",
            ],
        )
    });
    assert!(left.trim().is_empty(), "nothing left in the deleted namespace: {left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizer_held_content_is_reported_until_released() {
    let c = Cluster::start(&["--controllers=namespace"]).await;
    c.namespace("held").await;
    let cms: Api<ConfigMap> = c.api("held");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("pinned".into()),
            finalizers: Some(vec!["example.com/hold".into()]),
            ..Default::default()
        },
        ..Default::default()
    };
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    namespaces.delete("held", &DeleteParams::default()).await.unwrap();
    let conds = wait_for(T, "conditions reporting remaining content", || async {
        let ns = namespaces.get("held").await.ok()?;
        let conds = ns.status?.conditions?;
        let finalizers = conds.iter().find(|c| c.type_ == "NamespaceFinalizersRemaining")?;
        (finalizers.status == "True").then_some(conds)
    })
    .await;
    let find = |t: &str| conds.iter().find(|c| c.type_ == t).unwrap();
    let remaining = find("NamespaceContentRemaining");
    assert_eq!(remaining.reason.as_deref(), Some("SomeResourcesRemain"));
    assert_eq!(
        remaining.message.as_deref(),
        Some("Some resources are remaining: configmaps. has 1 resource instances")
    );
    let fin = find("NamespaceFinalizersRemaining");
    assert_eq!(fin.reason.as_deref(), Some("SomeFinalizersRemain"));
    assert_eq!(
        fin.message.as_deref(),
        Some("Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    );
    assert_eq!(find("NamespaceDeletionDiscoveryFailure").status, "False");
    assert_eq!(find("NamespaceDeletionContentFailure").reason.as_deref(), Some("ContentDeleted"));

    cms.patch("pinned", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap();
    wait_for(T, "namespace gone after the finalizer is released", || async {
        namespaces.get_opt("held").await.unwrap().is_none().then_some(())
    })
    .await;
}
