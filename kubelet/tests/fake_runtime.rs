//! The kubelet with the in-memory runtime against the real kube-apiserver:
//! registration, heartbeats, pod lifecycle, restart backoff and image pull errors.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_registers_becomes_ready_and_renews_its_lease() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let kubelet = kubelet(
        &api,
        "fake-node-1",
        "fake://",
        root.path(),
        &[
            "--node-labels=node-role.kubernetes.io/worker=,zone=z1",
            "--register-with-taints=dedicated=test:NoSchedule",
            "--kube-reserved=cpu=100m",
        ],
    );
    let nodes: Api<Node> = Api::all(client.clone());
    let node = wait_for(Duration::from_secs(20), "node Ready", || {
        let nodes = nodes.clone();
        async move {
            let n = nodes.get_opt("fake-node-1").await.map_err(|e| e.to_string())?.ok_or("no node yet")?;
            let ready = n
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .cloned();
            match ready {
                Some(c) if c.status == "True" => Ok(n),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    let labels = node.metadata.labels.clone().unwrap();
    assert_eq!(labels["kubernetes.io/hostname"], "fake-node-1");
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert_eq!(labels["zone"], "z1");
    assert!(labels.contains_key("node-role.kubernetes.io/worker"));
    let taints = node.spec.as_ref().unwrap().taints.clone().unwrap();
    assert_eq!((taints[0].key.as_str(), taints[0].effect.as_str()), ("dedicated", "NoSchedule"));
    let status = node.status.clone().unwrap();
    let ready = status.conditions.as_ref().unwrap().iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.reason.as_deref(), Some("KubeletReady"));
    assert_eq!(ready.message.as_deref(), Some("kubelet is posting ready status"));
    // Pressure follows this machine's real memory and disk (which may be short on disk): the
    // status and reason agree.
    for (t, ok_reason, bad_reason) in [
        ("MemoryPressure", "KubeletHasSufficientMemory", "KubeletHasInsufficientMemory"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "KubeletHasDiskPressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "KubeletHasInsufficientPID"),
    ] {
        let c =
            status.conditions.as_ref().unwrap().iter().find(|c| c.type_ == t).unwrap_or_else(|| panic!("{t} missing"));
        let got = (c.status.as_str(), c.reason.as_deref().unwrap_or(""));
        assert!(got == ("False", ok_reason) || got == ("True", bad_reason), "{t}: {got:?}");
    }
    assert_eq!(status.capacity.as_ref().unwrap()["pods"].0, "110");
    let cpu: rustkube_api::quantity::Quantity = status.capacity.as_ref().unwrap()["cpu"].0.parse().unwrap();
    let alloc: rustkube_api::quantity::Quantity = status.allocatable.as_ref().unwrap()["cpu"].0.parse().unwrap();
    assert_eq!(cpu.milli_value() - alloc.milli_value(), 100, "kube-reserved cpu is taken off allocatable");
    assert_eq!(status.node_info.as_ref().unwrap().kubelet_version, "v1.33.0");
    assert!(status.node_info.as_ref().unwrap().container_runtime_version.starts_with("fake://"));
    assert_eq!(status.daemon_endpoints.unwrap().kubelet_endpoint.unwrap().port, i32::from(kubelet.port()));
    assert!(status.addresses.unwrap().iter().any(|a| a.type_ == "InternalIP" && a.address == "127.0.0.1"));

    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let first =
        wait_for(Duration::from_secs(10), "node lease", || {
            let leases = leases.clone();
            async move {
                leases.get_opt("fake-node-1").await.map_err(|e| e.to_string())?.ok_or_else(|| "no lease".to_owned())
            }
        })
        .await;
    let spec = first.spec.clone().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("fake-node-1"));
    assert_eq!(spec.lease_duration_seconds, Some(4));
    let owner = first.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(
        owner.first().map(|o| (o.kind.as_str(), o.uid.as_str())),
        Some(("Node", node.metadata.uid.as_deref().unwrap()))
    );
    let renewed = spec.renew_time.unwrap();
    wait_for(Duration::from_secs(10), "lease renewal", || {
        let leases = leases.clone();
        let renewed = renewed.clone();
        async move {
            let l = leases.get("fake-node-1").await.map_err(|e| e.to_string())?;
            let t = l.spec.and_then(|s| s.renew_time).ok_or("no renewTime")?;
            if t.0 > renewed.0 { Ok(()) } else { Err(format!("{t:?}")) }
        }
    })
    .await;
    drop(kubelet);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_goes_running_and_ready_then_is_deleted_gracefully() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let _kubelet = kubelet(&api, "fake-node-2", "fake://", root.path(), &[]);
    pod("web").on_node("fake-node-2").env("GREETING", "hi").create(&client).await;
    wait_phase(&client, "web", "Running", Duration::from_secs(20)).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let p = wait_for(Duration::from_secs(10), "pod Ready", || {
        let pods = pods.clone();
        async move {
            let p = pods.get("web").await.map_err(|e| e.to_string())?;
            if condition(&p, "Ready").as_deref() == Some("True") { Ok(p) } else { Err(summary(&p)) }
        }
    })
    .await;
    let status = p.status.clone().unwrap();
    for c in ["PodScheduled", "Initialized", "ContainersReady", "Ready", "PodReadyToStartContainers"] {
        assert_eq!(condition(&p, c).as_deref(), Some("True"), "{c} True: {}", summary(&p));
    }
    assert!(status.pod_ip.as_deref().is_some_and(|ip| ip.starts_with("10.")), "a fake pod IP: {:?}", status.pod_ip);
    assert_eq!(status.host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));
    assert!(status.start_time.is_some());
    let cs = &status.container_statuses.unwrap()[0];
    assert!(cs.ready && cs.state.as_ref().unwrap().running.is_some(), "{cs:?}");
    assert!(cs.container_id.as_deref().unwrap().starts_with("fake://"));
    assert_eq!(cs.restart_count, 0);

    delete_and_wait_gone(&client, "web", Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_containers_back_off_or_fail_the_pod_per_restart_policy() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let _kubelet = kubelet(&api, "fake-node-3", "fake://?exit-code=1", root.path(), &[]);
    pod("crasher").on_node("fake-node-3").create(&client).await;
    pod("once").on_node("fake-node-3").restart_policy("Never").create(&client).await;

    let p = wait_phase(&client, "once", "Failed", Duration::from_secs(20)).await;
    let cs = &p.status.as_ref().unwrap().container_statuses.as_ref().unwrap()[0];
    let t = cs.state.as_ref().unwrap().terminated.as_ref().expect("terminated");
    assert_eq!((t.exit_code, t.reason.as_deref()), (1, Some("Error")));
    assert_eq!(cs.restart_count, 0, "Never restarts");

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let p = wait_for(Duration::from_secs(20), "crasher in CrashLoopBackOff", || {
        let pods = pods.clone();
        async move {
            let p = pods.get("crasher").await.map_err(|e| e.to_string())?;
            let cs = p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).and_then(|c| c.first()).cloned();
            match cs {
                Some(cs)
                    if cs.restart_count >= 1
                        && cs.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref())
                            == Some("CrashLoopBackOff") =>
                {
                    Ok(p)
                }
                _ => Err(summary(&p)),
            }
        }
    })
    .await;
    let status = p.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"), "an Always pod keeps running while it backs off");
    let cs = &status.container_statuses.unwrap()[0];
    let waiting = cs.state.as_ref().unwrap().waiting.as_ref().unwrap();
    let message = waiting.message.as_deref().unwrap_or("");
    assert!(message.starts_with("back-off 10s restarting failed container=main pod=crasher_default("), "{message}");
    assert_eq!(cs.last_state.as_ref().unwrap().terminated.as_ref().unwrap().exit_code, 1);
    assert_eq!(condition(&pods.get("crasher").await.unwrap(), "Ready").as_deref(), Some("False"));
    // Within the 10 s backoff the container is not restarted again.
    let before = cs.restart_count;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let now = pods.get("crasher").await.unwrap().status.unwrap().container_statuses.unwrap()[0].restart_count;
    assert_eq!(now, before, "no restart inside the backoff window");
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "default");
    wait_for(Duration::from_secs(10), "a BackOff event", || {
        let events = events.clone();
        async move {
            let list = events.list(&Default::default()).await.map_err(|e| e.to_string())?;
            let found = list.items.iter().any(|e| {
                e.reason.as_deref() == Some("BackOff")
                    && e.message.as_deref().is_some_and(|m| {
                        m.starts_with("Back-off restarting failed container main in pod crasher_default(")
                    })
                    && e.involved_object.field_path.as_deref() == Some("spec.containers{main}")
            });
            if found {
                Ok(())
            } else {
                Err(format!("{:?}", list.items.iter().map(|e| (&e.reason, &e.message)).collect::<Vec<_>>()))
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_containers_complete_before_the_app_container_and_the_pod_succeeds() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let _kubelet = kubelet(&api, "fake-node-4", "fake://?exit-code=0&run-for=300ms", root.path(), &[]);
    pod("job")
        .on_node("fake-node-4")
        .restart_policy("OnFailure")
        .init_container("setup", &["true"])
        .create(&client)
        .await;
    let p = wait_phase(&client, "job", "Succeeded", Duration::from_secs(20)).await;
    let status = p.status.clone().unwrap();
    let init = &status.init_container_statuses.as_ref().unwrap()[0];
    let app = &status.container_statuses.as_ref().unwrap()[0];
    let it = init.state.as_ref().unwrap().terminated.as_ref().unwrap();
    let at = app.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((it.exit_code, it.reason.as_deref()), (0, Some("Completed")));
    assert!(
        it.finished_at.as_ref().unwrap().0 <= at.started_at.as_ref().unwrap().0,
        "init finished before app started"
    );
    assert_eq!(condition(&p, "Initialized").as_deref(), Some("True"));
    assert_eq!(condition(&p, "Ready").as_deref(), Some("False"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_image_shows_err_image_pull_then_image_pull_back_off() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let _kubelet = kubelet(&api, "fake-node-5", "fake://?missing-images=example.com/nope:1", root.path(), &[]);
    pod("nope").on_node("fake-node-5").image("example.com/nope:1").create(&client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    wait_waiting_reasons(&client, "nope", "ErrImagePull", "ImagePullBackOff", Duration::from_secs(30)).await;
    let p = pods.get("nope").await.unwrap();
    assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Pending"));
    let w = p.status.unwrap().container_statuses.unwrap()[0].state.clone().unwrap().waiting.unwrap();
    assert_eq!(w.message.as_deref(), Some("Back-off pulling image \"example.com/nope:1\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_pod_manifest_appears_as_a_running_mirror_pod() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let manifests = tempfile::tempdir().unwrap();
    std::fs::write(
        manifests.path().join("static-web.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\n  namespace: default\nspec:\n  containers:\n  - name: web\n    image: busybox:1\n",
    )
    .unwrap();
    let flag = format!("--pod-manifest-path={}", manifests.path().display());
    let _kubelet = kubelet(&api, "fake-node-6", "fake://", root.path(), &[&flag]);
    let p = wait_phase(&client, "static-web-fake-node-6", "Running", Duration::from_secs(20)).await;
    let annotations = p.metadata.annotations.unwrap();
    assert_eq!(annotations["kubernetes.io/config.source"], "file");
    assert!(annotations.contains_key("kubernetes.io/config.mirror"));
    assert_eq!(p.spec.unwrap().node_name.as_deref(), Some("fake-node-6"));
}

/// A one-route HTTP server answering with the status code in `code`.
async fn status_server(code: std::sync::Arc<std::sync::atomic::AtomicU16>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let code = code.load(std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_probe_drives_ready_and_liveness_failure_restarts_the_container() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU16, Ordering};
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let _kubelet = kubelet(&api, "fake-node-7", "fake://", root.path(), &[]);
    let code = Arc::new(AtomicU16::new(200));
    let ready_port = status_server(Arc::clone(&code)).await;
    let alive = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let alive_port = alive.local_addr().unwrap().port();
    pod("probed")
        .on_node("fake-node-7")
        .spec_field("hostNetwork", serde_json::json!(true))
        .container_field(
            "readinessProbe",
            serde_json::json!({"httpGet": {"port": ready_port, "path": "/ready", "httpHeaders": [{"name": "X-Test", "value": "1"}]}, "periodSeconds": 1, "failureThreshold": 1}),
        )
        .container_field("livenessProbe", serde_json::json!({"tcpSocket": {"port": alive_port}, "periodSeconds": 1, "failureThreshold": 2}))
        .create(&client)
        .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let ready_is = |want: &'static str| ready_condition_is(&pods, "probed", want);
    let p = ready_is("True").await;
    assert_eq!(p.status.unwrap().pod_ip.as_deref(), Some("127.0.0.1"), "hostNetwork pods have the node IP");
    code.store(500, Ordering::SeqCst);
    let p = ready_is("False").await;
    let ready =
        p.status.as_ref().unwrap().conditions.as_ref().unwrap().iter().find(|c| c.type_ == "Ready").unwrap().clone();
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(p.status.unwrap().container_statuses.unwrap()[0].restart_count, 0, "readiness never restarts");
    code.store(200, Ordering::SeqCst);
    ready_is("True").await;

    drop(alive);
    wait_for(Duration::from_secs(20), "a liveness restart", || {
        let pods = pods.clone();
        async move {
            let p = pods.get("probed").await.map_err(|e| e.to_string())?;
            let restarts = p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).map(|c| c[0].restart_count);
            if restarts.unwrap_or(0) >= 1 { Ok(()) } else { Err(summary(&p)) }
        }
    })
    .await;
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "default");
    wait_for(Duration::from_secs(10), "Killing and Unhealthy events", || {
        let events = events.clone();
        async move {
            let list = events.list(&Default::default()).await.map_err(|e| e.to_string())?;
            let has = |reason: &str, text: &str| {
                list.items.iter().any(|e| {
                    e.reason.as_deref() == Some(reason) && e.message.as_deref().is_some_and(|m| m.contains(text))
                })
            };
            if has("Killing", "Container main failed liveness probe, will be restarted")
                && has("Unhealthy", "Liveness probe failed: dial tcp 127.0.0.1:")
                && has("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500")
            {
                Ok(())
            } else {
                Err(format!("{:?}", list.items.iter().map(|e| (&e.reason, &e.message)).collect::<Vec<_>>()))
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_gate_holds_ready_until_its_condition_is_set() {
    use kube::api::{Patch, PatchParams};
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let _kubelet = kubelet(&api, "fake-node-8", "fake://", root.path(), &[]);
    pod("gated")
        .on_node("fake-node-8")
        .spec_field("readinessGates", serde_json::json!([{"conditionType": "example.com/lb"}]))
        .create(&client)
        .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let p = wait_for(Duration::from_secs(15), "ReadinessGatesNotReady", || {
        let pods = pods.clone();
        async move {
            let p = pods.get("gated").await.map_err(|e| e.to_string())?;
            let ready = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready").cloned());
            if ready.is_some_and(|r| r.reason.as_deref() == Some("ReadinessGatesNotReady")) {
                Ok(p)
            } else {
                Err(summary(&p))
            }
        }
    })
    .await;
    assert_eq!(condition(&p, "ContainersReady").as_deref(), Some("True"));
    // A controller sets the gate's condition (strategic merge keeps the kubelet's conditions).
    let patch = serde_json::json!({"status": {"conditions": [{"type": "example.com/lb", "status": "True"}]}});
    pods.patch_status("gated", &PatchParams::default(), &Patch::Strategic(patch)).await.unwrap();
    let p = wait_for(Duration::from_secs(15), "Ready once the gate is True", || {
        let pods = pods.clone();
        async move {
            let p = pods.get("gated").await.map_err(|e| e.to_string())?;
            if condition(&p, "Ready").as_deref() == Some("True") { Ok(p) } else { Err(summary(&p)) }
        }
    })
    .await;
    assert_eq!(condition(&p, "example.com/lb").as_deref(), Some("True"), "the kubelet keeps the gate's condition");
}

#[test]
fn bad_flags_exit_non_zero_with_one_clear_line() {
    let out = std::process::Command::new(rustkube_harness::binary("kubelet"))
        .args(["--hostname-override=n", "--container-runtime-endpoint=tcp://10.0.0.1:1"])
        .output()
        .expect("running kubelet");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("--container-runtime-endpoint"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_kubelet_cleanly() {
    let api = apiserver();
    let root = tempfile::tempdir().unwrap();
    let mut kubelet = kubelet(&api, "fake-node-9", "fake://", root.path(), &[]);
    let code = tokio::task::block_in_place(|| kubelet.terminate(Duration::from_secs(10)));
    assert_eq!(code, Some(0), "exits 0 on SIGTERM within 10s:\n{}", kubelet.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelet_api_requires_a_client_certificate_without_anonymous_auth() {
    let api = apiserver();
    let root = tempfile::tempdir().unwrap();
    let pki = api.dir.path().join("pki");
    let ca = format!("--client-ca-file={}", pki.join("ca.crt").display());
    let kubelet = kubelet(&api, "fake-node-10", "fake://", root.path(), &[&ca, "--anonymous-auth=false"]);
    let url = format!("https://127.0.0.1:{}/pods", kubelet.port());
    let curl = |extra: &[String]| {
        let out = std::process::Command::new("curl")
            .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(extra)
            .arg(&url)
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl(&[]), "401", "anonymous requests are refused");
    let cert = pki.join("apiserver-kubelet-client.crt").display().to_string();
    let key = pki.join("apiserver-kubelet-client.key").display().to_string();
    assert_eq!(
        curl(&["--cert".into(), cert, "--key".into(), key]),
        "200",
        "the apiserver's kubelet-client certificate is accepted"
    );
    assert!(root.path().join("pki/kubelet.crt").exists(), "a self-signed serving certificate kept under the root dir");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_attach_and_port_forward_on_the_fake_runtime_fail_with_a_status_not_a_hang() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let kubelet = kubelet(&api, "fake-node-11", "fake://", root.path(), &[]);
    pod("web").on_node("fake-node-11").create(&client).await;
    wait_phase(&client, "web", "Running", Duration::from_secs(20)).await;

    // The kubelet API, as the apiserver's proxy calls it (a SPDY upgrade request).
    let curl = |path: &str| {
        let url = format!("https://127.0.0.1:{}{path}", kubelet.port());
        let out = std::process::Command::new("curl")
            .args(["-sk", "-m", "10", "-w", "\n%{http_code}", "-H", "Connection: Upgrade", "-H", "Upgrade: SPDY/3.1"])
            .arg(&url)
            .output()
            .expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').map(|(b, c)| (b.to_owned(), c.to_owned())).unwrap_or_default();
        let status: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        (code, status)
    };
    for (path, op) in [
        ("/exec/default/web/main?command=ls&output=1", "exec"),
        ("/attach/default/web/main?output=1", "attach"),
        ("/portForward/default/web?port=80", "port-forward"),
    ] {
        let (code, status) = curl(path);
        assert_eq!(code, "501", "{path}: {status}");
        assert_eq!(status["kind"], "Status", "{path}: {status}");
        assert_eq!(status["message"], format!("{op} is not supported by the fake runtime"), "{path}");
    }
    let (code, status) = curl("/exec/default/ghost/main?command=ls&output=1");
    assert_eq!((code.as_str(), status["message"].as_str()), ("404", Some("pod does not exist")));

    // Through the apiserver with the real kubectl: an error at once, not a hang.
    let started = std::time::Instant::now();
    let out = tokio::task::block_in_place(|| api.kubectl("1.33", &["exec", "web", "--", "ls"]));
    assert!(!out.status.success(), "kubectl exec on the fake runtime fails");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exec is not supported by the fake runtime"), "kubectl's error names the cause: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(10), "an answer, not a hang: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crossed_memory_threshold_evicts_pods_lowest_priority_first_and_taints_the_node() {
    use k8s_openapi::api::core::v1::Event;
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let classes: Api<k8s_openapi::api::scheduling::v1::PriorityClass> = Api::all(client.clone());
    let high: k8s_openapi::api::scheduling::v1::PriorityClass =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "high"}, "value": 1000})).unwrap();
    classes.create(&Default::default(), &high).await.expect("creating a PriorityClass");
    // Bound before the kubelet starts, so it learns of them together.
    for (name, class) in [("high", Some("high")), ("low", None), ("critical", Some("system-node-critical"))] {
        let mut p = pod(name).on_node("fake-node-12").grace(1);
        if let Some(class) = class {
            p = p.spec_field("priorityClassName", serde_json::json!(class));
        }
        p.create(&client).await;
    }
    let _kubelet = kubelet(&api, "fake-node-12", "fake://", root.path(), &["--eviction-hard=memory.available<1000Ti"]);

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let phase = |p: &Pod| p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
    let low = wait_for(Duration::from_secs(20), "pod low evicted", || {
        let pods = pods.clone();
        async move {
            let low = pods.get("low").await.map_err(|e| e.to_string())?;
            if low.status.as_ref().and_then(|s| s.reason.as_deref()) == Some("Evicted") {
                Ok(low)
            } else {
                Err(summary(&low))
            }
        }
    })
    .await;
    let high = pods.get("high").await.unwrap();
    assert_ne!(
        high.status.as_ref().and_then(|s| s.reason.as_deref()),
        Some("Evicted"),
        "the lower-priority pod goes first, one pod per period"
    );
    let status = low.status.clone().unwrap();
    assert_eq!(phase(&low), "Failed");
    let message = status.message.clone().unwrap_or_default();
    assert!(
        message.starts_with("The node was low on resource: memory. Threshold quantity: 1000Ti, available: "),
        "upstream's eviction message: {message}"
    );
    assert_eq!(condition(&low, "DisruptionTarget").as_deref(), Some("True"), "{}", summary(&low));
    let cs = &status.container_statuses.unwrap()[0];
    assert!(cs.state.as_ref().and_then(|s| s.terminated.as_ref()).is_some(), "its container was killed: {cs:?}");

    // Then the other one; the critical pod stays.
    wait_for(Duration::from_secs(20), "pod high evicted", || {
        let pods = pods.clone();
        async move {
            let p = pods.get("high").await.map_err(|e| e.to_string())?;
            if p.status.as_ref().and_then(|s| s.reason.as_deref()) == Some("Evicted") {
                Ok(())
            } else {
                Err(summary(&p))
            }
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let critical = pods.get("critical").await.unwrap();
    assert_eq!(phase(&critical), "Running", "system-critical pods are not evicted: {}", summary(&critical));

    // The node: MemoryPressure and its NoSchedule taint.
    let nodes: Api<Node> = Api::all(client.clone());
    let node = wait_for(Duration::from_secs(10), "MemoryPressure and its taint", || {
        let nodes = nodes.clone();
        async move {
            let n = nodes.get("fake-node-12").await.map_err(|e| e.to_string())?;
            let pressure = n
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "MemoryPressure"))
                .map(|c| (c.status.clone(), c.reason.clone()));
            let tainted = n.spec.as_ref().and_then(|s| s.taints.as_ref()).is_some_and(|t| {
                t.iter().any(|t| t.key == "node.kubernetes.io/memory-pressure" && t.effect == "NoSchedule")
            });
            if pressure == Some(("True".into(), Some("KubeletHasInsufficientMemory".into()))) && tainted {
                Ok(n)
            } else {
                Err(format!("{pressure:?} tainted={tainted}"))
            }
        }
    })
    .await;
    assert!(node.spec.unwrap().taints.unwrap().iter().all(|t| t.key != "node.kubernetes.io/disk-pressure"));

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let evicted = wait_for(Duration::from_secs(10), "an Evicted event for pod low", || {
        let events = events.clone();
        async move {
            let list = events.list(&Default::default()).await.map_err(|e| e.to_string())?;
            list.items
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("Evicted") && e.involved_object.name.as_deref() == Some("low"))
                .ok_or_else(|| "none yet".to_owned())
        }
    })
    .await;
    assert_eq!(evicted.type_.as_deref(), Some("Warning"));
    assert_eq!(evicted.message, Some(message));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_readiness_probe_follows_the_health_service_status() {
    use common::grpc_health::HealthServer;
    use k8s_openapi::api::core::v1::Event;
    use rustkube_kubelet::probes::grpc::ServingStatus;
    let health = HealthServer::default();
    health.set("ready-svc", ServingStatus::Serving);
    let port = health.serve().await;
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let _kubelet = kubelet(&api, "fake-node-13", "fake://", root.path(), &[]);
    pod("grpc")
        .on_node("fake-node-13")
        .spec_field("hostNetwork", serde_json::json!(true))
        .container_field(
            "readinessProbe",
            serde_json::json!({"grpc": {"port": port, "service": "ready-svc"}, "periodSeconds": 1, "failureThreshold": 1}),
        )
        .create(&client)
        .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let ready_is = |want: &'static str| ready_condition_is(&pods, "grpc", want);
    ready_is("True").await;
    health.set("ready-svc", ServingStatus::NotServing);
    ready_is("False").await;
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let unhealthy = wait_for(Duration::from_secs(10), "an Unhealthy event", || {
        let events = events.clone();
        async move {
            let list = events.list(&Default::default()).await.map_err(|e| e.to_string())?;
            let seen: Vec<_> = list.items.iter().map(|e| (e.reason.clone(), e.message.clone())).collect();
            list.items
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("Unhealthy"))
                .ok_or_else(|| format!("none yet: {seen:?}"))
        }
    })
    .await;
    assert_eq!(
        unhealthy.message.as_deref(),
        Some(r#"Readiness probe failed: service unhealthy (responded with "NOT_SERVING")"#)
    );
    health.set("ready-svc", ServingStatus::Serving);
    ready_is("True").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_summary_reports_the_node_and_its_pods() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let kubelet = kubelet(&api, "fake-node-14", "fake://", root.path(), &[]);
    pod("web").on_node("fake-node-14").create(&client).await;
    wait_phase(&client, "web", "Running", Duration::from_secs(20)).await;
    let url = format!("https://127.0.0.1:{}/stats/summary", kubelet.port());
    let out = std::process::Command::new("curl").args(["-sk", "-m", "10", &url]).output().expect("curl");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    let node = &summary["node"];
    assert_eq!(node["nodeName"], "fake-node-14");
    assert!(node["cpu"]["usageCoreNanoSeconds"].as_u64().is_some_and(|v| v > 0), "{node}");
    assert!(node["memory"]["availableBytes"].as_u64().is_some_and(|v| v > 0), "{node}");
    assert!(node["memory"]["workingSetBytes"].as_u64().is_some_and(|v| v > 0), "{node}");
    assert!(node["fs"]["capacityBytes"].as_u64().is_some_and(|v| v > 0), "{node}");
    assert!(node["startTime"].is_string(), "{node}");
    let pods = summary["pods"].as_array().expect("pods");
    let web = pods.iter().find(|p| p["podRef"]["name"] == "web").unwrap_or_else(|| panic!("pod web in {pods:?}"));
    assert_eq!(web["podRef"]["namespace"], "default");
    assert_eq!(web["containers"][0]["name"], "main", "{web}");
    assert!(web["memory"]["workingSetBytes"].is_u64(), "{web}");

    // The same figures as upstream's resource metrics; main's start time once
    // the kubelet's watch has brought its running status back from the API.
    let url = format!("https://127.0.0.1:{}/metrics/resource", kubelet.port());
    let main = r#"{container="main",namespace="default",pod="web"}"#;
    let text = wait_for(Duration::from_secs(10), "main's start time in /metrics/resource", || {
        let url = url.clone();
        async move {
            let out = std::process::Command::new("curl")
                .args(["-sk", "-m", "10", "-w", "%{content_type}", &url])
                .output()
                .map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.contains(&format!("container_start_time_seconds{main} ")) { Ok(text) } else { Err(text) }
        }
    })
    .await;
    let (text, content_type) = text.rsplit_once('\n').expect("a body and the content type");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    // `<series> <value>[ <timestamp ms>]` of one series.
    let sample = |series: &str| -> (f64, Option<i64>) {
        let line = text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' '));
        let mut fields = line.unwrap_or_else(|| panic!("a {series} sample in {text}")).split(' ');
        let value = fields.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{series}'s value in {text}"));
        (value, fields.next().map(|t| t.parse().expect("a millisecond timestamp")))
    };
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let (cpu, at) = sample("node_cpu_usage_seconds_total");
    assert!(cpu > 0.0, "the node has used CPU: {text}");
    assert!(at.is_some_and(|at| (now_ms - 60_000..=now_ms).contains(&at)), "stamped with when it was read: {text}");
    assert!(sample("node_memory_working_set_bytes").0 > 0.0, "{text}");
    for series in ["container_cpu_usage_seconds_total", "container_memory_working_set_bytes"] {
        assert!(sample(&format!("{series}{main}")).1.is_some(), "{series} of main, stamped: {text}");
    }
    for series in ["pod_cpu_usage_seconds_total", "pod_memory_working_set_bytes"] {
        assert!(sample(&format!(r#"{series}{{namespace="default",pod="web"}}"#)).1.is_some(), "{series}: {text}");
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let status = pods.get("web").await.unwrap().status.unwrap().container_statuses.unwrap();
    let started = status[0].state.as_ref().and_then(|s| s.running.as_ref()?.started_at.clone()).expect("main running");
    let (start, at) = sample(&format!("container_start_time_seconds{main}"));
    assert_eq!(
        (start, at),
        (started.0.as_nanosecond() as f64 / 1e9, None),
        "main's startedAt, without a timestamp: {text}"
    );
    assert_eq!(sample("resource_scrape_error"), (0.0, None), "{text}");
}

/// Waits (15 s at most) until pod `name`'s Ready condition is `want`.
async fn ready_condition_is(pods: &Api<Pod>, name: &str, want: &str) -> Pod {
    wait_for(Duration::from_secs(15), &format!("{name} Ready={want}"), || {
        let pods = pods.clone();
        async move {
            let p = pods.get(name).await.map_err(|e| e.to_string())?;
            if condition(&p, "Ready").as_deref() == Some(want) { Ok(p) } else { Err(summary(&p)) }
        }
    })
    .await
}
