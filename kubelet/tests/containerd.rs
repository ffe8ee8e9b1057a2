//! The kubelet against a real containerd (CRI v1) started by the test in its
//! own network namespace, with the bridge + host-local CNI plugins and the
//! local images built by deploy/images/images.sh.
//!
//! Needs root and: apt-get install -y containerd runc containernetworking-plugins busybox-static gcc libc6-dev curl util-linux

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::runtime_node::start;
use common::*;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busybox_pods_run_their_command_and_report_the_exit_code() {
    let (node, root) = start(11);
    let api = apiserver();
    let client = api.client().await;
    let kubelet = kubelet(&api, "ctr-node-1", &node.endpoint(), &root, &["--cluster-dns=10.96.0.10"]);
    pod("ok")
        .on_node("ctr-node-1")
        .restart_policy("Never")
        .env("GREETING", "hello")
        .spec_field(
            "securityContext",
            serde_json::json!({"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "100"}]}),
        )
        .command(&[
            "sh",
            "-c",
            "test \"$GREETING\" = hello && test \"$(pwd)\" = / && test \"$(hostname)\" = ok \
             && grep -q '^nameserver 10.96.0.10' /etc/resolv.conf \
             && grep -q '^search default.svc.cluster.local svc.cluster.local cluster.local' /etc/resolv.conf \
             && grep -q 'ndots:5' /etc/resolv.conf \
             && test \"$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)\" = 100",
        ])
        .create(&client)
        .await;
    pod("fails")
        .on_node("ctr-node-1")
        .restart_policy("Never")
        .env("CODE", "3")
        .command(&["sh", "-c", "echo about to fail; echo with $(CODE); exit $(CODE)"])
        .create(&client)
        .await;
    pod("secure")
        .on_node("ctr-node-1")
        .restart_policy("Never")
        .spec_field("securityContext", serde_json::json!({"runAsUser": 1000, "runAsGroup": 3000}))
        .container_field("securityContext", serde_json::json!({"readOnlyRootFilesystem": true}))
        .command(&["sh", "-c", "test $$$$ = 1 || exit 11; test \"$(id -u)\" = 1000 || exit 12; test \"$(id -g)\" = 3000 || exit 13; touch /x 2>/dev/null && exit 14; echo 'bye now' > /dev/termination-log; exit 2"])
        .create(&client)
        .await;
    let cgroup_check = "if [ -f /sys/fs/cgroup/memory.max ]; then \
            test \"$(cat /sys/fs/cgroup/memory.max)\" = 67108864 || exit 11; grep -q '^50000 100000' /sys/fs/cgroup/cpu.max || exit 12; \
        else \
            test \"$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)\" = 67108864 || exit 11; \
            test \"$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)\" = 50000 || exit 12; \
            test \"$(cat /sys/fs/cgroup/cpu/cpu.shares)\" = 512 || exit 13; \
            grep -q ':memory:/kubepods/pod' /proc/self/cgroup || exit 14; \
        fi";
    pod("limited")
        .on_node("ctr-node-1")
        .restart_policy("Never")
        .container_field("resources", serde_json::json!({"limits": {"cpu": "500m", "memory": "64Mi"}}))
        .command(&["sh", "-c", cgroup_check])
        .create(&client)
        .await;
    let p = wait_phase(&client, "ok", "Succeeded", Duration::from_secs(40)).await;
    let cs = &p.status.as_ref().unwrap().container_statuses.as_ref().unwrap()[0];
    let t = cs.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")), "{}", summary(&p));
    assert!(cs.container_id.as_deref().unwrap().starts_with("containerd://"));
    assert!(cs.image_id.starts_with("sha256:") || cs.image_id.contains("@sha256:"), "imageID {:?}", cs.image_id);

    let p = wait_phase(&client, "fails", "Failed", Duration::from_secs(40)).await;
    let t =
        p.status.as_ref().unwrap().container_statuses.as_ref().unwrap()[0].state.clone().unwrap().terminated.unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (3, Some("Error")), "$(CODE) expanded by the kubelet");

    // Resource limits reach the container's cgroup, under the Guaranteed QoS parent (cgroup v1).
    let p = wait_phase(&client, "limited", "Succeeded", Duration::from_secs(40)).await;
    assert_eq!(p.status.as_ref().unwrap().qos_class.as_deref(), Some("Guaranteed"));
    let memory_v1 = std::path::Path::new("/sys/fs/cgroup/memory/kubepods");
    if memory_v1.exists() {
        let pod_cgroup = memory_v1.join(format!("pod{}", p.metadata.uid.clone().unwrap()));
        assert!(pod_cgroup.is_dir(), "the pod's cgroup {} exists while the pod does", pod_cgroup.display());
        delete_and_wait_gone(&client, "limited", Duration::from_secs(20)).await;
        wait_for(Duration::from_secs(10), "the pod's cgroup removed", || {
            let pod_cgroup = pod_cgroup.clone();
            async move { if pod_cgroup.exists() { Err(pod_cgroup.display().to_string()) } else { Ok(()) } }
        })
        .await;
    }

    // Its output through the kubelet API.
    let logs = |query: &str| {
        let url = format!("https://127.0.0.1:{}/containerLogs/default/fails/main{query}", kubelet.port());
        let out = Command::new("curl").args(["-sk", &url]).output().expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(logs(""), "about to fail\nwith 3\n");
    assert_eq!(logs("?tailLines=1"), "with 3\n");
    // And through the apiserver, as `kubectl logs` reads it (apiserver → kubelet → containerd's log).
    for (args, want) in
        [(&["logs", "fails"][..], "about to fail\nwith 3\n"), (&["logs", "fails", "--tail=1"][..], "with 3\n")]
    {
        let out = api.kubectl("1.33", args);
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "kubectl {args:?}");
    }
    assert!(
        logs("?timestamps=true").starts_with(&format!("{}", jiff::Timestamp::now().strftime("%Y-"))),
        "timestamps first"
    );

    // PID 1 of its own PID namespace (`$$$$` is `$$` after the kubelet's `$(VAR)` escaping), the pod's
    // user and group, a read-only root, and a termination message.
    let p = wait_phase(&client, "secure", "Failed", Duration::from_secs(40)).await;
    let t =
        p.status.as_ref().unwrap().container_statuses.as_ref().unwrap()[0].state.clone().unwrap().terminated.unwrap();
    assert_eq!(t.exit_code, 2, "exit codes 11-14 name the failed check: {}", summary(&p));
    assert_eq!(t.message.as_deref(), Some("bye now\n"), "the termination message file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_running_pod_gets_a_bridge_ip_and_deletion_is_graceful() {
    let (node, root) = start(12);
    let api = apiserver();
    let client = api.client().await;
    let _kubelet = kubelet(&api, "ctr-node-2", &node.endpoint(), &root, &[]);
    // Exits on SIGTERM at once.
    pod("polite")
        .on_node("ctr-node-2")
        .grace(30)
        .command(&["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"])
        .create(&client)
        .await;
    // Ignores SIGTERM: only SIGKILL after the grace period stops it.
    pod("stubborn")
        .on_node("ctr-node-2")
        .grace(3)
        .command(&["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"])
        .create(&client)
        .await;
    pod("web")
        .on_node("ctr-node-2")
        .grace(1)
        .command(&[
            "sh",
            "-c",
            "mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www",
        ])
        .create(&client)
        .await;
    let polite = wait_phase(&client, "polite", "Running", Duration::from_secs(40)).await;
    let web = wait_phase(&client, "web", "Running", Duration::from_secs(40)).await;
    let web_ip = web.status.unwrap().pod_ip.expect("web has a pod IP");
    let url = format!("http://{web_ip}:8080/");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = node.in_netns(&["curl", "-s", "-m", "2", &url]);
        if String::from_utf8_lossy(&out.stdout).contains("hello-from-pod") {
            break;
        }
        if Instant::now() >= deadline {
            let logs = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("cat {}/pod-logs/default_web_*/main/*.log", &root.display()))
                .output()
                .unwrap();
            let verbose = node.in_netns(&["curl", "-sS", "-m", "2", &url]);
            panic!(
                "the pod serves HTTP on {url}: {} {}; container log: {}",
                String::from_utf8_lossy(&verbose.stdout),
                String::from_utf8_lossy(&verbose.stderr),
                String::from_utf8_lossy(&logs.stdout)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_phase(&client, "stubborn", "Running", Duration::from_secs(40)).await;
    let ip = polite.status.as_ref().unwrap().pod_ip.clone().expect("a pod IP");
    assert!(ip.starts_with("10.244.12."), "pod IP {ip} from the node's subnet {}", node.subnet);
    assert_eq!(condition(&polite, "Ready").as_deref(), Some("True"), "{}", summary(&polite));
    let out = node.in_netns(&["/bin/busybox", "ping", "-c", "1", "-W", "2", &ip]);
    assert!(out.status.success(), "pod IP {ip} answers ping on the bridge: {}", String::from_utf8_lossy(&out.stdout));

    let t0 = Instant::now();
    delete_and_wait_gone(&client, "polite", Duration::from_secs(25)).await;
    let polite_took = t0.elapsed();
    let t0 = Instant::now();
    delete_and_wait_gone(&client, "stubborn", Duration::from_secs(25)).await;
    let stubborn_took = t0.elapsed();
    assert!(polite_took < Duration::from_secs(10), "SIGTERM stops a trapping pod quickly: {polite_took:?}");
    assert!(stubborn_took >= Duration::from_secs(3), "SIGKILL only after the 3 s grace period: {stubborn_took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_image_and_bad_command_show_their_waiting_reasons() {
    let (node, root) = start(13);
    let api = apiserver();
    let client = api.client().await;
    let _kubelet = kubelet(&api, "ctr-node-3", &node.endpoint(), &root, &[]);
    pod("ghost").on_node("ctr-node-3").image("rustkube.invalid/ghost:1").create(&client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pod("badcmd").on_node("ctr-node-3").command(&["/no/such/binary"]).create(&client).await;
    wait_waiting_reasons(&client, "ghost", "ErrImagePull", "ImagePullBackOff", Duration::from_secs(30)).await;
    wait_waiting_reasons(&client, "badcmd", "RunContainerError", "CrashLoopBackOff", Duration::from_secs(30)).await;
    assert_eq!(pods.get("ghost").await.unwrap().status.unwrap().phase.as_deref(), Some("Pending"));
    delete_and_wait_gone(&client, "ghost", Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_and_volumes_hold_the_right_content_and_config_maps_update_in_place() {
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    use kube::api::{Patch, PatchParams, PostParams};
    let (node, root) = start(14);
    let api = apiserver();
    let client = api.client().await;
    let _kubelet = kubelet(&api, "ctr-node-4", &node.endpoint(), &root, &[]);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "app-config"}, "data": {"greeting": "hello", "mode": "v1"}
    }))
    .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "app-secret"}, "data": {"password": "czNjcmV0"}
    }))
    .unwrap();
    secrets.create(&PostParams::default(), &secret).await.unwrap();
    // Services the pod gets link variables for (and one it does not: headless).
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(client.clone(), "default");
    for svc in [
        serde_json::json!({"metadata": {"name": "app-svc"}, "spec": {"ports": [
            {"name": "http", "port": 8080}, {"name": "dns", "port": 53, "protocol": "UDP"}]}}),
        serde_json::json!({"metadata": {"name": "headless"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}),
    ] {
        services.create(&PostParams::default(), &serde_json::from_value(svc).unwrap()).await.unwrap();
    }
    let script = r#"
        test "$GREETING" = hello || exit 11
        test "$PASSWORD" = s3cret || exit 12
        test "$POD_NAME" = vols || exit 13
        test -n "$POD_IP" || exit 14
        test "$CFG_mode" = v1 || exit 15
        test "$MSG" = "hello world" || exit 16
        test -n "$KUBERNETES_SERVICE_HOST" && test "$KUBERNETES_SERVICE_PORT_HTTPS" -gt 0 || exit 17
        test "$APP_SVC_SERVICE_PORT_HTTP" = 8080 && test "$APP_SVC_PORT_53_UDP_PROTO" = udp || exit 18
        test "$APP_SVC_PORT" = "tcp://$APP_SVC_SERVICE_HOST:8080" || exit 19
        test "$LINK" = "$APP_SVC_SERVICE_HOST:8080" && test -z "$HEADLESS_SERVICE_HOST" || exit 20
        test "$(cat /etc/cfg/greeting)" = hello || exit 21
        test "$(cat /etc/sec/password)" = s3cret || exit 22
        test "$(cat /etc/info/name)" = vols || exit 23
        grep -q 'app="vols"' /etc/info/labels || exit 24
        echo x > /scratch/f || exit 25
        grep -q ' /mem tmpfs' /proc/mounts || exit 26
        i=0
        while ! grep -q v2 /etc/cfg/mode; do i=$((i+1)); [ $i -gt 300 ] && exit 30; sleep 0.2; done
        exit 0
    "#;
    let mut builder = pod("vols")
        .on_node("ctr-node-4")
        .restart_policy("Never")
        .command(&["sh", "-c", script])
        .container_field(
            "env",
            serde_json::json!([
                {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "greeting"}}},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "password"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "MSG", "value": "$(GREETING) world"},
                {"name": "LINK", "value": "$(APP_SVC_SERVICE_HOST):$(APP_SVC_SERVICE_PORT)"},
            ]),
        )
        .container_field("envFrom", serde_json::json!([{"prefix": "CFG_", "configMapRef": {"name": "app-config"}}]))
        .container_field(
            "volumeMounts",
            serde_json::json!([
                {"name": "cfg", "mountPath": "/etc/cfg"},
                {"name": "sec", "mountPath": "/etc/sec", "readOnly": true},
                {"name": "info", "mountPath": "/etc/info"},
                {"name": "scratch", "mountPath": "/scratch"},
                {"name": "mem", "mountPath": "/mem"},
            ]),
        )
        .spec_field(
            "volumes",
            serde_json::json!([
                {"name": "cfg", "configMap": {"name": "app-config"}},
                {"name": "sec", "secret": {"secretName": "app-secret"}},
                {"name": "info", "downwardAPI": {"items": [
                    {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                ]}},
                {"name": "scratch", "emptyDir": {}},
                {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
            ]),
        );
    builder = builder.spec_field("terminationGracePeriodSeconds", serde_json::json!(1));
    let mut p = builder.build();
    p.metadata.labels = Some([("app".to_owned(), "vols".to_owned())].into());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &p).await.unwrap();
    wait_phase(&client, "vols", "Running", Duration::from_secs(40)).await;
    cms.patch("app-config", &PatchParams::default(), &Patch::Merge(serde_json::json!({"data": {"mode": "v2"}})))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let p = pods.get("vols").await.unwrap();
        let phase = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
        if phase == "Succeeded" {
            break;
        }
        assert_ne!(phase, "Failed", "a check in the pod failed (its exit code says which): {}", summary(&p));
        assert!(Instant::now() < deadline, "the configMap update did not reach the volume in 45s: {}", summary(&p));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Deleting the (terminal, so at once) pod makes the kubelet unmount its tmpfs emptyDir and remove its directory.
    let uid = pods.get("vols").await.unwrap().metadata.uid.unwrap();
    delete_and_wait_gone(&client, "vols", Duration::from_secs(20)).await;
    let pod_dir = root.join("pods").join(&uid);
    wait_for(Duration::from_secs(15), "the pod's directory and mounts removed", || {
        let (pod_dir, uid) = (pod_dir.clone(), uid.clone());
        async move {
            let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
            if pod_dir.exists() || mounts.contains(&uid) {
                Err(format!("{} exists: {}", pod_dir.display(), pod_dir.exists()))
            } else {
                Ok(())
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_liveness_failure_restarts_the_container() {
    let (node, root) = start(15);
    let api = apiserver();
    let client = api.client().await;
    let _kubelet = kubelet(&api, "ctr-node-5", &node.endpoint(), &root, &[]);
    pod("flaky")
        .on_node("ctr-node-5")
        .grace(1)
        .command(&["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600"])
        .container_field(
            "livenessProbe",
            serde_json::json!({"exec": {"command": ["test", "-f", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1}),
        )
        .create(&client)
        .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let p = wait_for(Duration::from_secs(40), "a liveness restart", || {
        let pods = pods.clone();
        async move {
            let p = pods.get("flaky").await.map_err(|e| e.to_string())?;
            let cs = p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).and_then(|c| c.first().cloned());
            match cs {
                Some(cs)
                    if cs.restart_count >= 1
                        && cs.last_state.as_ref().and_then(|l| l.terminated.as_ref()).is_some() =>
                {
                    Ok(p)
                }
                _ => Err(summary(&p)),
            }
        }
    })
    .await;
    assert_eq!(p.status.unwrap().phase.as_deref(), Some("Running"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelet_restart_keeps_running_pods_running() {
    let (node, root) = start(16);
    let api = apiserver();
    let client = api.client().await;
    let mut first = kubelet(&api, "ctr-node-6", &node.endpoint(), &root, &[]);
    pod("survivor").on_node("ctr-node-6").grace(1).command(&["sleep", "3600"]).create(&client).await;
    let p = wait_phase(&client, "survivor", "Running", Duration::from_secs(40)).await;
    let id = p.status.unwrap().container_statuses.unwrap()[0].container_id.clone().expect("a container ID");
    first.kill9();

    let second = kubelet(&api, "ctr-node-6", &node.endpoint(), &root, &[]);
    let url = format!("https://127.0.0.1:{}/pods", second.port());
    wait_for(Duration::from_secs(15), "the restarted kubelet's /pods to list the pod", || {
        let url = url.clone();
        async move {
            let out =
                tokio::process::Command::new("curl").args(["-sk", &url]).output().await.map_err(|e| e.to_string())?;
            let body = String::from_utf8_lossy(&out.stdout).into_owned();
            if body.contains("\"survivor\"") { Ok(()) } else { Err(body) }
        }
    })
    .await;
    // For two relist periods after adoption the pod keeps its one container.
    let socket = node.socket.clone();
    let cri = rustkube_kubelet::runtime::cri::CriRuntime::connect(&socket).await.unwrap();
    let until = Instant::now() + Duration::from_secs(2);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    while Instant::now() < until {
        use rustkube_kubelet::runtime::Runtime;
        let containers: Vec<_> = cri
            .list_containers()
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.labels.get("io.kubernetes.pod.name").map(String::as_str) == Some("survivor"))
            .collect();
        assert_eq!(containers.len(), 1, "no new container after the kubelet restart: {containers:?}");
        let p = pods.get("survivor").await.unwrap();
        let cs = p.status.clone().unwrap().container_statuses.unwrap()[0].clone();
        assert_eq!((cs.container_id.as_deref(), cs.restart_count), (Some(id.as_str()), 0), "{}", summary(&p));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    delete_and_wait_gone(&client, "survivor", Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_start_and_pre_stop_hooks_run() {
    let (node, root) = start(17);
    let api = apiserver();
    let client = api.client().await;
    let _kubelet = kubelet(&api, "ctr-node-7", &node.endpoint(), &root, &[]);
    let out = tempfile::Builder::new().prefix("rkk-hooks-").tempdir().unwrap();
    pod("hooked")
        .on_node("ctr-node-7")
        .grace(10)
        .command(&["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"])
        .container_field(
            "lifecycle",
            serde_json::json!({
                "postStart": {"exec": {"command": ["sh", "-c", "echo started > /out/poststart"]}},
                "preStop": {"exec": {"command": ["sh", "-c", "echo stopping > /out/prestop"]}},
            }),
        )
        .container_field("volumeMounts", serde_json::json!([{"name": "out", "mountPath": "/out"}]))
        .spec_field(
            "volumes",
            serde_json::json!([{"name": "out", "hostPath": {"path": out.path(), "type": "Directory"}}]),
        )
        .create(&client)
        .await;
    wait_phase(&client, "hooked", "Running", Duration::from_secs(40)).await;
    let poststart = out.path().join("poststart");
    wait_for(Duration::from_secs(10), "the postStart hook's file", || {
        let f = poststart.clone();
        async move { std::fs::read_to_string(&f).map_err(|e| e.to_string()) }
    })
    .await;
    assert!(!out.path().join("prestop").exists(), "preStop runs only on stop");
    delete_and_wait_gone(&client, "hooked", Duration::from_secs(20)).await;
    assert_eq!(
        std::fs::read_to_string(out.path().join("prestop")).unwrap_or_default(),
        "stopping\n",
        "preStop ran before the stop"
    );
}
