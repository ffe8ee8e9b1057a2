"""The official Kubernetes Python client against kube-apiserver.

Usage: python3 client_crud.py KUBECONFIG
Exits non-zero (with the reason) on the first incompatibility.
"""
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def main(kubeconfig: str) -> None:
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    apps = client.AppsV1Api()

    names = [ns.metadata.name for ns in core.list_namespace().items]
    assert "kube-system" in names, names

    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py", labels={"from": "python"}), data={"a": "1"})
    created = core.create_namespaced_config_map("default", cm)
    assert created.metadata.uid and created.metadata.resource_version, created.metadata

    try:
        core.create_namespaced_config_map("default", cm)
        raise AssertionError("second create must fail")
    except ApiException as e:
        assert e.status == 409, e.status

    core.patch_namespaced_config_map("py", "default", {"data": {"b": "2"}})
    got = core.read_namespaced_config_map("py", "default")
    assert got.data == {"a": "1", "b": "2"}, got.data

    stale = created
    stale.data = {"c": "3"}
    try:
        core.replace_namespaced_config_map("py", "default", stale)
        raise AssertionError("stale replace must conflict")
    except ApiException as e:
        assert e.status == 409, e.status

    listed = core.list_namespaced_config_map("default", label_selector="from=python")
    assert [i.metadata.name for i in listed.items] == ["py"], listed.items

    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="py-web"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": "py"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "py"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.36")]),
            ),
        ),
    )
    d = apps.create_namespaced_deployment("default", dep)
    assert d.spec.replicas == 1 and d.spec.strategy.rolling_update.max_surge == "25%", d.spec

    w = watch.Watch()
    seen = []
    for event in w.stream(core.list_namespaced_config_map, "default", label_selector="from=python", timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 1:
            core.delete_namespaced_config_map("py", "default")
        if event["type"] == "DELETED":
            w.stop()
    assert seen == [("ADDED", "py"), ("DELETED", "py")], seen
    print("python client: ok")


if __name__ == "__main__":
    main(sys.argv[1])
