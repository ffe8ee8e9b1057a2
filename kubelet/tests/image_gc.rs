//! Image garbage collection end to end: the loop the kubelet starts, driven
//! through the fake runtime's image store against a real apiserver (for the
//! Node's events); the flags as the kubelet binary takes them; and the CRI
//! image calls against a real containerd.
//!
//! The containerd test needs root and: apt-get install -y containerd runc containernetworking-plugins busybox-static gcc libc6-dev curl util-linux

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::runtime_node::{RuntimeNode, images_script, run};
use common::*;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use rustkube_kubelet::events::Recorder;
use rustkube_kubelet::image_gc::{self, Policy};
use rustkube_kubelet::runtime::fake::{FakeConfig, FakeRuntime, SANDBOX_IMAGE};
use rustkube_kubelet::runtime::{ContainerConfig, Runtime, SandboxConfig};

const GIB: u64 = 1 << 30;

async fn image_ids(rt: &dyn Runtime) -> Vec<String> {
    let mut ids: Vec<String> = rt.list_images().await.unwrap().into_iter().map(|i| i.id).collect();
    ids.sort();
    ids
}

/// The node's events with `reason`, as `kubectl get events` would list them.
async fn node_events(client: &kube::Client, node: &str, reason: &str) -> Vec<Event> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    events
        .list(&Default::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some("Node")
                && e.involved_object.name.as_deref() == Some(node)
                && e.reason.as_deref() == Some(reason)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_high_threshold_unused_images_go_and_in_use_pinned_and_sandbox_images_stay() {
    let api = apiserver();
    let client = api.client().await;
    let fake = Arc::new(FakeRuntime::new(FakeConfig::default()));
    let unused_a = fake.add_image("docker.io/library/unused-a:1", 3 * GIB, false);
    let unused_b = fake.add_image("docker.io/library/unused-b:1", GIB, false);
    let in_use = fake.add_image("docker.io/library/in-use:1", 2 * GIB, false);
    let pinned = fake.add_image("docker.io/library/pinned:1", GIB, true);
    let sandbox = fake.add_image(SANDBOX_IMAGE, GIB, false);
    let sb = fake.run_pod_sandbox(&SandboxConfig { uid: "u1".into(), ..Default::default() }).await.unwrap();
    let c = fake
        .create_container(
            &sb,
            &ContainerConfig { name: "main".into(), image: "docker.io/library/in-use:1".into(), ..Default::default() },
            &SandboxConfig::default(),
        )
        .await
        .unwrap();
    fake.start_container(&c).await.unwrap();
    // 20 GiB, 12 used by other files and 8 by images: 100%, 4 GiB to free for 80%,
    // exactly what the two unused images hold.
    fake.set_image_fs(20 * GIB, 12 * GIB);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let policy = Policy::new(85, 80, Duration::ZERO).unwrap();
    let gc = tokio::spawn(image_gc::run(
        fake.clone(),
        policy,
        Duration::from_millis(200),
        Recorder::new(client.clone(), "gc-node"),
        stop_rx,
    ));
    let mut kept = vec![in_use.clone(), pinned.clone(), sandbox.clone()];
    kept.sort();
    let rt: &dyn Runtime = fake.as_ref();
    wait_for(Duration::from_secs(10), "the unused images removed", || async {
        let ids = image_ids(rt).await;
        if ids == kept { Ok(()) } else { Err(format!("{ids:?}")) }
    })
    .await;
    let fs = fake.image_fs_info().await.unwrap();
    assert_eq!(fs.available_bytes, 4 * GIB, "freed down to the low threshold");
    assert!(!kept.contains(&unused_a) && !kept.contains(&unused_b));

    // Over the threshold with nothing removable: FreeDiskSpaceFailed each pass,
    // ImageGCFailed from the second failing pass on.
    fake.set_image_fs(20 * GIB, 15 * GIB);
    let free_failed = wait_for(Duration::from_secs(20), "FreeDiskSpaceFailed on the Node", || async {
        let e = node_events(&client, "gc-node", "FreeDiskSpaceFailed").await;
        if e.is_empty() { Err("none".to_owned()) } else { Ok(e) }
    })
    .await;
    let e = &free_failed[0];
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(
        e.message.as_deref(),
        Some(
            "Failed to garbage collect required amount of images. Attempted to free 3221225472 bytes, but only found 0 bytes eligible to free."
        ),
        "19 of 20 GiB used: 3 GiB to free, nothing removable"
    );
    assert_eq!(e.source.as_ref().and_then(|s| s.component.as_deref()), Some("kubelet"));
    let gc_failed = wait_for(Duration::from_secs(20), "ImageGCFailed on the Node", || async {
        let e = node_events(&client, "gc-node", "ImageGCFailed").await;
        if e.is_empty() { Err("none".to_owned()) } else { Ok(e) }
    })
    .await;
    assert_eq!(gc_failed[0].message, e.message, "ImageGCFailed carries the pass's error");
    assert_eq!(image_ids(rt).await, kept, "in-use, pinned and sandbox images survive every pass");

    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), gc).await.expect("the loop stops on shutdown").unwrap();
}

#[test]
fn bad_image_gc_thresholds_stop_the_kubelet_with_upstreams_message() {
    let out = Command::new(rustkube_harness::binary("kubelet"))
        .args([
            "--hostname-override=n",
            "--container-runtime-endpoint=fake://",
            "--image-gc-high-threshold=70",
            "--image-gc-low-threshold=75",
        ])
        .output()
        .expect("running the kubelet");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the kubelet must not start: {stderr}");
    assert!(
        stderr.contains("LowThresholdPercent 75 can not be higher than HighThresholdPercent 70"),
        "upstream's wording expected, got: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containerd_lists_sizes_and_removes_images_and_names_its_sandbox_image() {
    let node = tokio::task::block_in_place(|| RuntimeNode::start(41));
    let extra = node.dir.join("images/extra.tar");
    let content = node.dir.join("images/extra");
    std::fs::create_dir_all(&content).unwrap();
    std::fs::write(content.join("data"), vec![7u8; 256 * 1024]).unwrap();
    run(Command::new(images_script())
        .args(["build", "dir"])
        .arg(&content)
        .arg("example.com/rustkube/gc-extra:1")
        .arg(&extra));
    run(Command::new(images_script()).arg("import").arg(&node.socket).arg(&extra));

    let cri = rustkube_kubelet::runtime::cri::CriRuntime::connect(&node.socket).await.unwrap();
    let images = cri.list_images().await.unwrap();
    let find = |tag: &str| images.iter().find(|i| i.repo_tags.iter().any(|t| t == tag)).cloned();
    let extra_image = find("example.com/rustkube/gc-extra:1").unwrap_or_else(|| panic!("imported image in {images:?}"));
    assert!(extra_image.id.starts_with("sha256:"), "{extra_image:?}");
    assert!(extra_image.size_bytes >= 256 * 1024, "the layer's size counts: {extra_image:?}");
    let pause = find("registry.k8s.io/pause:3.10").unwrap_or_else(|| panic!("pause in {images:?}"));
    assert!(find("docker.io/library/busybox:latest").is_some(), "busybox in {images:?}");

    let sandbox_images = cri.sandbox_images().await.unwrap();
    assert!(
        sandbox_images.iter().any(|r| pause.is_named(r)),
        "containerd's sandbox_image {sandbox_images:?} names the pause image {pause:?}"
    );

    let fs = cri.image_fs_info().await.unwrap();
    assert!(fs.mountpoint.starts_with(&node.dir), "the node's own containerd root: {}", fs.mountpoint.display());
    assert!(fs.capacity_bytes > 0 && fs.available_bytes <= fs.capacity_bytes, "{fs:?}");

    cri.remove_image(&extra_image.id).await.unwrap();
    let after = cri.list_images().await.unwrap();
    assert!(after.iter().all(|i| i.id != extra_image.id), "removed: {after:?}");
    assert!(after.iter().any(|i| i.id == pause.id), "the others stay: {after:?}");
    assert_eq!(cri.image_status("example.com/rustkube/gc-extra:1").await.unwrap(), None);
    cri.remove_image(&extra_image.id).await.expect("removing an image that is gone is no error");
}
