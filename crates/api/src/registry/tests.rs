//! Unit tests for `registry`.

use super::*;
use std::collections::{HashMap, HashSet};

/// Asserts `T` is served exactly as k8s-openapi describes it.
fn expect<T>() -> &'static ResourceInfo
where
    T: Resource,
    T::Scope: Scope,
{
    let info = lookup(T::GROUP, T::VERSION, T::URL_PATH_SEGMENT)
        .unwrap_or_else(|| panic!("expected {} to be served", T::API_VERSION));
    assert_eq!(info.kind, T::KIND, "kind of {}", info.plural);
    assert_eq!(info.api_version(), T::API_VERSION, "apiVersion of {}", info.plural);
    assert_eq!(info.namespaced, <T::Scope as Scope>::NAMESPACED, "scope of {}", info.plural);
    assert_eq!(lookup_kind(T::GROUP, T::VERSION, T::KIND), Some(info));
    info
}

#[test]
fn every_row_agrees_with_k8s_openapi_and_nothing_else_is_served() {
    let served: HashSet<*const ResourceInfo> = [
        expect::<core::Binding>(),
        expect::<core::ComponentStatus>(),
        expect::<core::ConfigMap>(),
        expect::<core::Endpoints>(),
        expect::<core::Event>(),
        expect::<core::LimitRange>(),
        expect::<core::Namespace>(),
        expect::<core::Node>(),
        expect::<core::PersistentVolumeClaim>(),
        expect::<core::PersistentVolume>(),
        expect::<core::Pod>(),
        expect::<core::PodTemplate>(),
        expect::<core::ReplicationController>(),
        expect::<core::ResourceQuota>(),
        expect::<core::Secret>(),
        expect::<core::ServiceAccount>(),
        expect::<core::Service>(),
        expect::<apps::ControllerRevision>(),
        expect::<apps::DaemonSet>(),
        expect::<apps::Deployment>(),
        expect::<apps::ReplicaSet>(),
        expect::<apps::StatefulSet>(),
        expect::<events::Event>(),
        expect::<authentication::SelfSubjectReview>(),
        expect::<authentication::TokenReview>(),
        expect::<authorization::LocalSubjectAccessReview>(),
        expect::<authorization::SelfSubjectAccessReview>(),
        expect::<authorization::SelfSubjectRulesReview>(),
        expect::<authorization::SubjectAccessReview>(),
        expect::<autoscaling_v1::HorizontalPodAutoscaler>(),
        expect::<autoscaling_v2::HorizontalPodAutoscaler>(),
        expect::<batch::CronJob>(),
        expect::<batch::Job>(),
        expect::<certificates::CertificateSigningRequest>(),
        expect::<networking::IngressClass>(),
        expect::<networking::Ingress>(),
        expect::<networking::IPAddress>(),
        expect::<networking::NetworkPolicy>(),
        expect::<networking::ServiceCIDR>(),
        expect::<policy::PodDisruptionBudget>(),
        expect::<rbac::ClusterRoleBinding>(),
        expect::<rbac::ClusterRole>(),
        expect::<rbac::RoleBinding>(),
        expect::<rbac::Role>(),
        expect::<storage::CSIDriver>(),
        expect::<storage::CSINode>(),
        expect::<storage::CSIStorageCapacity>(),
        expect::<storage::StorageClass>(),
        expect::<storage::VolumeAttachment>(),
        expect::<admissionregistration::MutatingWebhookConfiguration>(),
        expect::<admissionregistration::ValidatingAdmissionPolicy>(),
        expect::<admissionregistration::ValidatingAdmissionPolicyBinding>(),
        expect::<admissionregistration::ValidatingWebhookConfiguration>(),
        expect::<apiextensions::CustomResourceDefinition>(),
        expect::<scheduling::PriorityClass>(),
        expect::<coordination::Lease>(),
        expect::<node::RuntimeClass>(),
        expect::<discovery::EndpointSlice>(),
    ]
    .into_iter()
    .map(|r| r as *const _)
    .collect();
    assert_eq!(served.len(), all().len(), "every row is one of the expected types");
}

#[test]
fn no_duplicate_group_version_plural() {
    let mut seen = HashSet::new();
    for r in all() {
        assert!(seen.insert((r.group, r.version, r.plural)), "duplicate {}/{}", r.api_version(), r.plural);
    }
}

#[test]
fn singular_is_lowercase_kind_for_every_builtin() {
    for r in all() {
        assert_eq!(r.singular, r.kind.to_ascii_lowercase(), "singular of {}", r.plural);
    }
}

#[test]
fn short_names_name_one_resource_and_never_shadow_a_name() {
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for r in all() {
        for &short in r.short_names {
            let plural = *owner.entry(short).or_insert(r.plural);
            assert_eq!(plural, r.plural, "short name {short} names both {plural} and {}", r.plural);
            assert!(
                all().iter().all(|o| o.plural != short && o.singular != short),
                "short name {short} shadows a resource name"
            );
        }
    }
}

#[test]
fn subresources_are_unique_sorted_and_fully_qualified() {
    for r in all() {
        let names: Vec<_> = r.subresources.iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "subresources of {} sorted and unique", r.plural);
        for s in r.subresources {
            assert!(!s.version.is_empty() && !s.kind.is_empty() && !s.verbs.is_empty());
            if s.name == "status" {
                assert_eq!((s.group, s.version, s.kind), (r.group, r.version, r.kind));
                assert_eq!(s.verbs, STATUS_VERBS);
            }
        }
    }
}

#[test]
fn pods_serve_every_upstream_subresource() {
    let pods = lookup("", "v1", "pods").unwrap();
    let names: Vec<_> = pods.subresources.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "attach",
            "binding",
            "ephemeralcontainers",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "resize",
            "status"
        ]
    );
    let eviction = pods.subresource("eviction").unwrap();
    assert_eq!((eviction.group, eviction.version, eviction.kind), ("policy", "v1", "Eviction"));
    assert_eq!(eviction.verbs, CREATE_VERBS);
    assert_eq!(pods.subresource("exec").unwrap().kind, "PodExecOptions");
    assert_eq!(pods.subresource("binding").unwrap().kind, "Binding");
    assert_eq!(pods.subresource("log").unwrap().verbs, ["get"]);
    assert!(pods.subresource("resize").unwrap().supports("patch"));
    assert!(pods.subresource("scale").is_none());
}

#[test]
fn scalable_workloads_answer_with_autoscaling_v1_scale() {
    for (group, plural) in
        [("", "replicationcontrollers"), ("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets")]
    {
        let scale = lookup(group, "v1", plural).unwrap().subresource("scale").unwrap();
        assert_eq!((scale.group, scale.version, scale.kind), ("autoscaling", "v1", "Scale"), "{plural}/scale");
        assert_eq!(scale.verbs, STATUS_VERBS);
    }
    assert!(lookup("apps", "v1", "daemonsets").unwrap().subresource("scale").is_none());
}

#[test]
fn other_quirky_subresources() {
    let token = lookup("", "v1", "serviceaccounts").unwrap().subresource("token").unwrap();
    assert_eq!((token.group, token.kind, token.verbs), ("authentication.k8s.io", "TokenRequest", CREATE_VERBS));
    let finalize = lookup("", "v1", "namespaces").unwrap().subresource("finalize").unwrap();
    assert_eq!((finalize.kind, finalize.verbs), ("Namespace", UPDATE_VERBS));
    let approval =
        lookup("certificates.k8s.io", "v1", "certificatesigningrequests").unwrap().subresource("approval").unwrap();
    assert_eq!(approval.kind, "CertificateSigningRequest");
    assert_eq!(lookup("", "v1", "nodes").unwrap().subresource("proxy").unwrap().kind, "NodeProxyOptions");
    assert_eq!(lookup("", "v1", "services").unwrap().subresource("proxy").unwrap().verbs, PROXY_VERBS);
}

#[test]
fn verbs_only_resources_have_no_storage_and_stored_ones_can_be_watched() {
    for r in all() {
        assert_eq!(r.storage_segment.is_some(), r.supports("watch"), "storage of {}", r.plural);
    }
    for plural in ["bindings", "componentstatuses"] {
        assert_eq!(lookup("", "v1", plural).unwrap().storage_prefix(), None);
    }
    let review = lookup("authorization.k8s.io", "v1", "subjectaccessreviews").unwrap();
    assert_eq!(review.verbs, CREATE_VERBS);
    assert_eq!(review.storage_key(None, "x"), None);
    assert!(!lookup("", "v1", "namespaces").unwrap().supports("deletecollection"));
    assert_eq!(lookup("", "v1", "componentstatuses").unwrap().verbs, READ_VERBS);
}

#[test]
fn storage_prefixes_follow_upstream_quirks() {
    let prefix = |g, v, p| lookup(g, v, p).unwrap().storage_prefix().unwrap();
    assert_eq!(prefix("", "v1", "nodes"), "/registry/minions/");
    assert_eq!(prefix("", "v1", "services"), "/registry/services/specs/");
    assert_eq!(prefix("", "v1", "endpoints"), "/registry/services/endpoints/");
    assert_eq!(prefix("", "v1", "replicationcontrollers"), "/registry/controllers/");
    assert_eq!(prefix("networking.k8s.io", "v1", "ingresses"), "/registry/ingress/");
    assert_eq!(
        prefix("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
        "/registry/apiextensions.k8s.io/customresourcedefinitions/"
    );
    assert_eq!(prefix("apps", "v1", "deployments"), "/registry/deployments/");
    assert_eq!(prefix("", "v1", "events"), prefix("events.k8s.io", "v1", "events"));
    assert_eq!(
        prefix("autoscaling", "v1", "horizontalpodautoscalers"),
        prefix("autoscaling", "v2", "horizontalpodautoscalers")
    );
}

#[test]
fn storage_keys_match_upstream_etcd_paths() {
    let key = |g, v, p, ns, name| lookup(g, v, p).unwrap().storage_key(ns, name);
    assert_eq!(key("", "v1", "pods", Some("default"), "pod1").as_deref(), Some("/registry/pods/default/pod1"));
    assert_eq!(key("", "v1", "nodes", None, "node1").as_deref(), Some("/registry/minions/node1"));
    assert_eq!(key("", "v1", "namespaces", Some("ignored"), "ns1").as_deref(), Some("/registry/namespaces/ns1"));
    assert_eq!(
        key("events.k8s.io", "v1", "events", Some("ns"), "event3").as_deref(),
        Some("/registry/events/ns/event3")
    );
    assert_eq!(key("", "v1", "pods", None, "pod1"), None, "namespaced key needs a namespace");
    assert_eq!(key("", "v1", "pods", Some(""), "pod1"), None);
    for bad in ["", ".", "..", "a/b", "a%2f"] {
        assert_eq!(key("", "v1", "configmaps", Some("ns"), bad), None, "name {bad:?}");
    }
}

#[test]
fn resolve_finds_kubectl_names() {
    let first = |arg: &str| {
        let r = resolve(arg).first().copied().unwrap_or_else(|| panic!("{arg} resolves"));
        format!("{}/{}", r.api_version(), r.plural)
    };
    for (arg, want) in [
        ("po", "v1/pods"),
        ("pods", "v1/pods"),
        ("pod", "v1/pods"),
        ("Pod", "v1/pods"),
        ("PODS", "v1/pods"),
        ("svc", "v1/services"),
        ("cm", "v1/configmaps"),
        ("ns", "v1/namespaces"),
        ("no", "v1/nodes"),
        ("sa", "v1/serviceaccounts"),
        ("ep", "v1/endpoints"),
        ("Endpoints", "v1/endpoints"),
        ("pv", "v1/persistentvolumes"),
        ("pvc", "v1/persistentvolumeclaims"),
        ("quota", "v1/resourcequotas"),
        ("limits", "v1/limitranges"),
        ("rc", "v1/replicationcontrollers"),
        ("cs", "v1/componentstatuses"),
        ("ev", "v1/events"),
        ("deploy", "apps/v1/deployments"),
        ("deployments.apps", "apps/v1/deployments"),
        ("deploy.apps", "apps/v1/deployments"),
        ("deployments.v1.apps", "apps/v1/deployments"),
        ("Deployment", "apps/v1/deployments"),
        ("rs", "apps/v1/replicasets"),
        ("ds", "apps/v1/daemonsets"),
        ("sts", "apps/v1/statefulsets"),
        ("hpa", "autoscaling/v2/horizontalpodautoscalers"),
        ("hpa.v1.autoscaling", "autoscaling/v1/horizontalpodautoscalers"),
        ("hpa.autoscal", "autoscaling/v2/horizontalpodautoscalers"),
        ("cj", "batch/v1/cronjobs"),
        ("jobs", "batch/v1/jobs"),
        ("csr", "certificates.k8s.io/v1/certificatesigningrequests"),
        ("crd", "apiextensions.k8s.io/v1/customresourcedefinitions"),
        ("crds", "apiextensions.k8s.io/v1/customresourcedefinitions"),
        ("netpol", "networking.k8s.io/v1/networkpolicies"),
        ("ing", "networking.k8s.io/v1/ingresses"),
        ("ingresses.networking.k8s.io", "networking.k8s.io/v1/ingresses"),
        ("ip", "networking.k8s.io/v1/ipaddresses"),
        ("pdb", "policy/v1/poddisruptionbudgets"),
        ("pc", "scheduling.k8s.io/v1/priorityclasses"),
        ("sc", "storage.k8s.io/v1/storageclasses"),
        ("events.events.k8s.io", "events.k8s.io/v1/events"),
        ("ev.events.k8s.io", "events.k8s.io/v1/events"),
        ("clusterroles.rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1/clusterroles"),
    ] {
        assert_eq!(first(arg), want, "resolve({arg})");
    }
}

#[test]
fn resolve_lists_every_match_once_preferred_first() {
    let hpa: Vec<_> = resolve("hpa").iter().map(|r| r.version).collect();
    assert_eq!(hpa, ["v2", "v1"]);
    let events: Vec<_> = resolve("events").iter().map(|r| r.group).collect();
    assert_eq!(events, ["", "events.k8s.io"]);
    assert!(resolve("nope").is_empty());
    assert!(resolve("").is_empty());
    assert!(resolve("deployments.v2.apps").is_empty());
    assert!(resolve("pods.apps").is_empty());
}

#[test]
fn all_category_is_what_kubectl_get_all_shows() {
    let names: Vec<_> = in_category("all").map(|r| format!("{}/{}", r.api_version(), r.plural)).collect();
    assert_eq!(
        names,
        [
            "v1/pods",
            "v1/replicationcontrollers",
            "v1/services",
            "apps/v1/daemonsets",
            "apps/v1/deployments",
            "apps/v1/replicasets",
            "apps/v1/statefulsets",
            "autoscaling/v2/horizontalpodautoscalers",
            "batch/v1/cronjobs",
            "batch/v1/jobs",
        ]
    );
    let extensions: Vec<_> = in_category("api-extensions").map(|r| r.plural).collect();
    assert_eq!(
        extensions,
        [
            "mutatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
            "validatingwebhookconfigurations",
            "customresourcedefinitions",
        ]
    );
}

#[test]
fn groups_agree_with_the_table_and_its_order() {
    assert_eq!(groups().first().map(|g| g.name), Some("apps"));
    // Group order in the table (core first) is the order of groups().
    let mut table_order: Vec<&str> = Vec::new();
    for r in all() {
        if table_order.last() != Some(&r.group) {
            assert!(!table_order.contains(&r.group), "rows of {} are contiguous", r.group);
            table_order.push(r.group);
        }
    }
    let listed: Vec<_> = std::iter::once("").chain(groups().iter().map(|g| g.name)).collect();
    assert_eq!(table_order, listed);
    for g in groups() {
        assert_eq!(g.versions.first(), Some(&g.preferred_version), "{} preferred first", g.name);
        let table_versions: Vec<_> =
            all().iter().filter(|r| r.group == g.name).map(|r| r.version).fold(Vec::new(), |mut v, x| {
                if v.last() != Some(&x) {
                    v.push(x);
                }
                v
            });
        assert_eq!(table_versions, g.versions, "versions of {}", g.name);
        for v in g.versions {
            assert!(resources_in(g.name, v).next().is_some(), "{}/{v} serves something", g.name);
        }
    }
    assert_eq!(preferred_version(""), Some("v1"));
    assert_eq!(preferred_version("autoscaling"), Some("v2"));
    assert_eq!(preferred_version("extensions"), None);
}

#[test]
fn resources_within_a_version_are_alphabetical() {
    for gv in all().iter().map(ResourceInfo::group_version).collect::<HashSet<_>>() {
        let plurals: Vec<_> = resources_in(gv.group, gv.version).map(|r| r.plural).collect();
        let mut sorted = plurals.clone();
        sorted.sort_unstable();
        assert_eq!(plurals, sorted, "resources of {gv}");
    }
}

#[test]
fn group_version_formats_like_api_version() {
    assert_eq!(lookup("", "v1", "pods").unwrap().api_version(), "v1");
    assert_eq!(lookup("apps", "v1", "deployments").unwrap().group_version().to_string(), "apps/v1");
    assert_eq!(GroupVersion { group: "batch", version: "v1" }.api_version(), "batch/v1");
    assert_eq!(resources_in("", "v1").count(), 17);
    assert_eq!(resources_in("authorization.k8s.io", "v1").count(), 4);
}
