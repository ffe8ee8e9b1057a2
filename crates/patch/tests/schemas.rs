//! The built-in kinds' patch schemas carry upstream's `patchStrategy` / `patchMergeKey` tags.

use rustkube_patch::{Schema, Strategy, schema_for};

/// A field's strategy, merge key and whether it retains keys.
type Tags = (Strategy, Option<&'static str>, bool);

/// Follows a path of field names through nested schemas.
fn field_at(schema: &'static Schema, path: &[&str]) -> Tags {
    let mut current = schema;
    for (i, name) in path.iter().enumerate() {
        let field = current.field(name).unwrap_or_else(|| panic!("{}: no metadata for {name}", path.join(".")));
        if i + 1 == path.len() {
            return (field.strategy(), field.merge_key(), field.has_retain_keys());
        }
        current = field.schema().unwrap_or_else(|| panic!("{}: {name} has no schema", path.join(".")));
    }
    unreachable!("empty path")
}

#[test]
fn every_builtin_kind_has_a_schema_with_object_meta() {
    let kinds = [
        ("", "Pod"),
        ("", "PodTemplate"),
        ("", "ReplicationController"),
        ("", "Service"),
        ("", "Endpoints"),
        ("", "Node"),
        ("", "Namespace"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "ServiceAccount"),
        ("", "PersistentVolume"),
        ("", "PersistentVolumeClaim"),
        ("", "Event"),
        ("", "LimitRange"),
        ("", "ResourceQuota"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("apps", "ControllerRevision"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("networking.k8s.io", "Ingress"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("policy", "PodDisruptionBudget"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("coordination.k8s.io", "Lease"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("storage.k8s.io", "StorageClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("events.k8s.io", "Event"),
    ];
    for (group, kind) in kinds {
        let schema = schema_for(group, kind).unwrap_or_else(|| panic!("{group}/{kind}: no schema"));
        assert_eq!(field_at(schema, &["metadata", "ownerReferences"]), (Strategy::Merge, Some("uid"), false));
        assert_eq!(field_at(schema, &["metadata", "finalizers"]), (Strategy::Merge, None, false));
    }
    assert!(schema_for("core", "Pod").is_some(), "\"core\" names the core group too");
}

#[test]
fn custom_resources_have_no_schema() {
    assert!(schema_for("example.com", "Widget").is_none());
    assert!(schema_for("apps", "Widget").is_none());
    assert!(schema_for("", "Widget").is_none());
}

#[test]
fn tags_match_upstream() {
    let pod = schema_for("", "Pod").unwrap();
    let deployment = schema_for("apps", "Deployment").unwrap();
    let cases: Vec<(&'static Schema, &[&str], Tags)> = vec![
        (pod, &["spec", "containers"], (Strategy::Merge, Some("name"), false)),
        (pod, &["spec", "initContainers"], (Strategy::Merge, Some("name"), false)),
        (pod, &["spec", "ephemeralContainers"], (Strategy::Merge, Some("name"), false)),
        (pod, &["spec", "containers", "ports"], (Strategy::Merge, Some("containerPort"), false)),
        (pod, &["spec", "containers", "env"], (Strategy::Merge, Some("name"), false)),
        (pod, &["spec", "containers", "volumeMounts"], (Strategy::Merge, Some("mountPath"), false)),
        (pod, &["spec", "containers", "volumeDevices"], (Strategy::Merge, Some("devicePath"), false)),
        (pod, &["spec", "volumes"], (Strategy::Merge, Some("name"), true)),
        (pod, &["spec", "imagePullSecrets"], (Strategy::Merge, Some("name"), false)),
        (pod, &["spec", "hostAliases"], (Strategy::Merge, Some("ip"), false)),
        (pod, &["spec", "topologySpreadConstraints"], (Strategy::Merge, Some("topologyKey"), false)),
        (pod, &["spec", "schedulingGates"], (Strategy::Merge, Some("name"), false)),
        (pod, &["spec", "resourceClaims"], (Strategy::Merge, Some("name"), true)),
        (pod, &["status", "conditions"], (Strategy::Merge, Some("type"), false)),
        (pod, &["status", "podIPs"], (Strategy::Merge, Some("ip"), false)),
        (
            pod,
            &["spec", "volumes", "ephemeral", "volumeClaimTemplate", "metadata", "finalizers"],
            (Strategy::Merge, None, false),
        ),
        (deployment, &["spec", "strategy"], (Strategy::Default, None, true)),
        (deployment, &["spec", "template", "spec", "containers", "env"], (Strategy::Merge, Some("name"), false)),
        (deployment, &["spec", "template", "metadata", "ownerReferences"], (Strategy::Merge, Some("uid"), false)),
        (deployment, &["status", "conditions"], (Strategy::Merge, Some("type"), false)),
        (
            schema_for("batch", "CronJob").unwrap(),
            &["spec", "jobTemplate", "spec", "template", "spec", "volumes"],
            (Strategy::Merge, Some("name"), true),
        ),
        (schema_for("batch", "Job").unwrap(), &["status", "conditions"], (Strategy::Merge, Some("type"), false)),
        (schema_for("", "Service").unwrap(), &["spec", "ports"], (Strategy::Merge, Some("port"), false)),
        (schema_for("", "Node").unwrap(), &["spec", "podCIDRs"], (Strategy::Merge, None, false)),
        (schema_for("", "Node").unwrap(), &["status", "addresses"], (Strategy::Merge, Some("type"), false)),
        (schema_for("", "ServiceAccount").unwrap(), &["secrets"], (Strategy::Merge, Some("name"), false)),
        (schema_for("policy", "PodDisruptionBudget").unwrap(), &["spec", "selector"], (Strategy::Replace, None, false)),
        (
            schema_for("autoscaling", "HorizontalPodAutoscaler").unwrap(),
            &["status", "conditions"],
            (Strategy::Merge, Some("type"), false),
        ),
        (
            schema_for("admissionregistration.k8s.io", "MutatingWebhookConfiguration").unwrap(),
            &["webhooks", "matchConditions"],
            (Strategy::Merge, Some("name"), false),
        ),
    ];
    for (schema, path, expected) in cases {
        assert_eq!(field_at(schema, path), expected, "{}", path.join("."));
    }
}

#[test]
fn untagged_lists_have_no_metadata() {
    let pod = schema_for("", "Pod").unwrap();
    let spec = pod.field("spec").and_then(|f| f.schema()).unwrap();
    for name in ["tolerations", "readinessGates"] {
        assert!(spec.field(name).is_none(), "PodSpec.{name} is replaced whole upstream");
    }
    let container = spec.field("containers").and_then(|f| f.schema()).unwrap();
    for name in ["envFrom", "resizePolicy", "args", "command"] {
        assert!(container.field(name).is_none(), "Container.{name} is replaced whole upstream");
    }
    let node_spec = schema_for("", "Node").unwrap().field("spec").and_then(|f| f.schema()).unwrap();
    assert!(node_spec.field("taints").is_none(), "NodeSpec.taints is replaced whole upstream");
}
