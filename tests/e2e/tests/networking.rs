//! Pods spread over two containerd-backed nodes, each node in its own
//! network namespace with its own pod CIDR, and a pod on one node reaching a
//! pod on the other over HTTP through the routes between the nodes.

mod common;

use std::time::Duration;

use common::pods;
use rustkube_harness::{Cluster, eventually};

const SERVERS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      terminationGracePeriodSeconds: 1
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: echo}}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: httpd
        image: busybox:1.36
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
"#;

#[test]
fn pods_spread_over_two_nodes_and_reach_each_other_over_http() {
    let c = Cluster::builder().nodes(2).start();
    c.ok_stdin(&["apply", "-f", "-"], SERVERS);
    c.ok(&["rollout", "status", "deployment/echo", "--timeout=90s"]);
    let mut servers = pods(&c, "app=echo");
    servers.sort_by(|a, b| a.node.cmp(&b.node));
    let nodes: Vec<&str> = servers.iter().map(|p| p.node.as_str()).collect();
    assert_eq!(nodes, ["node-0", "node-1"], "one server per node: {servers:?}");
    for (i, p) in servers.iter().enumerate() {
        assert_eq!(p.phase, "Running", "{p:?}");
        assert!(p.ip.starts_with(&format!("10.244.{i}.")), "{}'s pod CIDR is 10.244.{i}.0/24: {p:?}", p.node);
    }

    // A client on node-0 asks the server on node-1, and the other way round.
    for (client_node, server) in [("node-0", &servers[1]), ("node-1", &servers[0])] {
        let name = format!("client-on-{client_node}");
        let manifest = format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  restartPolicy: Never
  nodeSelector: {{kubernetes.io/hostname: {client_node}}}
  containers:
  - name: client
    image: busybox:1.36
    command: ["sh", "-c", "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 {ip} 8080"]
"#,
            ip = server.ip
        );
        c.ok_stdin(&["apply", "-f", "-"], &manifest);
        eventually(&format!("{name} to finish"), Duration::from_secs(60), || {
            let phase = c.ok(&["get", "pod", &name, "-o", "jsonpath={.status.phase}"]);
            match phase.as_str() {
                "Succeeded" => Ok(()),
                "Failed" => panic!("{name} failed: {}", c.ok(&["logs", &name])),
                other => Err(other.to_owned()),
            }
        });
        assert_eq!(c.ok(&["get", "pod", &name, "-o", "jsonpath={.spec.nodeName}"]), client_node);
        let answer = c.ok(&["logs", &name]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{name} got an HTTP answer from {}: {answer}", server.ip);
        assert!(
            answer.trim_end().ends_with(&server.name),
            "the answer came from {} on {}: {answer}",
            server.name,
            server.node
        );
    }

    // The control plane's namespace routes to every node's pods too.
    for server in &servers {
        let answer = http_get_in(c.started().netns.as_deref(), &server.ip, 8080);
        assert!(answer.trim_end().ends_with(&server.name), "from the cluster namespace to {server:?}: {answer}");
    }
}

/// `GET /` over a TCP connection made inside namespace `netns`.
fn http_get_in(netns: Option<&str>, ip: &str, port: u16) -> String {
    use std::io::{Read as _, Write as _};
    let addr = std::net::SocketAddr::new(ip.parse().expect("a pod IP"), port);
    let mut stream = rustkube_local_cluster::netns::connect(netns, addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connecting to {addr} in {netns:?}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}
