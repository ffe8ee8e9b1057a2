//! Decodes what the real kubectl 1.32 and 1.33 send for typed `create` commands and compares it with
//! the JSON the same command prints with `--dry-run=client -o json`.
//!
//! Skipped (with a note) when the kubectl binaries are not installed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const KUBECTLS: [&str; 2] =
    ["/usr/lib/google-cloud-sdk/bin/kubectl.1.33", "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"];

const COMMANDS: &[&str] = &[
    "create configmap app-config --from-literal=a=b --from-literal=color=blue",
    "create secret generic db-pass --from-literal=password=s3cr3t --from-literal=user=admin",
    "create deployment web --image=nginx --replicas=2 --port=8080",
    "create deployment idle --image=nginx --replicas=0",
    "create job backup --image=busybox -- sh -c echo",
    "create namespace team-a",
    "create serviceaccount builder",
    "create cronjob nightly --image=busybox --schedule=0_3_*_*_*",
    "create service clusterip api --tcp=80:8080",
    "create priorityclass high --value=1000 --description=important",
    "create poddisruptionbudget web-pdb --selector=app=web --min-available=1",
];

fn installed() -> Vec<PathBuf> {
    KUBECTLS.iter().map(PathBuf::from).filter(|p| p.exists()).collect()
}

fn args(command: &str) -> Vec<String> {
    command.split(' ').map(|a| a.replace('_', " ")).collect()
}

#[test]
fn decoded_kubectl_bodies_equal_what_kubectl_prints_as_json() {
    let kubectls = installed();
    assert!(
        !kubectls.is_empty(),
        "no kubectl 1.32/1.33 found at {KUBECTLS:?}: these tests drive the real kubectl; install the Google Cloud \
         SDK kubectl components (kubectl.1.32, kubectl.1.33) there"
    );
    // Binary secret data travels as raw bytes in protobuf and as base64 in JSON.
    let binary = std::env::temp_dir().join(format!("rustkube-protobuf-binary-{}", std::process::id()));
    std::fs::write(&binary, [0u8, 255, 1, 2, 0x80, b'\n']).unwrap();
    let binary_secret = format!("create secret generic blob --from-file=key.bin={}", binary.display());
    let commands: Vec<&str> = COMMANDS.iter().copied().chain([binary_secret.as_str()]).collect();
    for kubectl in &kubectls {
        for command in &commands {
            let (content_type, body) = capture(kubectl, &args(command));
            assert_eq!(content_type, rustkube_protobuf::PROTOBUF_MEDIA_TYPE, "{command}: kubectl sends protobuf");
            let decoded = rustkube_protobuf::decode(&body)
                .unwrap_or_else(|e| panic!("{} {command}: decoding the captured body failed: {e}", kubectl.display()));
            let printed = dry_run_json(kubectl, &args(command));
            assert_eq!(
                decoded,
                printed,
                "{} {command}: decoded body should equal --dry-run=client -o json",
                kubectl.display()
            );
            // And the body survives our encoder: encoding the JSON again decodes to the same JSON.
            let reencoded = rustkube_protobuf::encode(&decoded).unwrap();
            assert_eq!(rustkube_protobuf::decode(&reencoded).unwrap(), decoded, "{command}: re-encoding is lossless");
        }
    }
    let _ = std::fs::remove_file(binary);
}

#[test]
fn other_typed_requests_decode() {
    // Bodies kubectl sends without a client-side JSON twin: checked field by field.
    let Some(kubectl) = installed().into_iter().next() else { return };
    let (_, body) = capture(&kubectl, &args("auth can-i delete pods --namespace=prod"));
    let review = rustkube_protobuf::decode(&body).unwrap();
    assert_eq!(review["kind"], "SelfSubjectAccessReview");
    assert_eq!(review["apiVersion"], "authorization.k8s.io/v1");
    let attributes = &review["spec"]["resourceAttributes"];
    assert_eq!((attributes["verb"].as_str(), attributes["resource"].as_str()), (Some("delete"), Some("pods")));
    assert_eq!(attributes["namespace"], "prod");
    assert_eq!(review["status"], serde_json::json!({"allowed": false}), "Go writes the non-omitempty allowed");

    let (_, body) = capture(&kubectl, &args("create token builder --duration=10m --audience=api"));
    let token = rustkube_protobuf::decode(&body).unwrap();
    assert_eq!(token["kind"], "TokenRequest");
    assert_eq!(token["spec"]["expirationSeconds"], 600);
    assert_eq!(token["spec"]["audiences"], serde_json::json!(["api"]));
}

/// Runs kubectl against a local server that records the first request with a body and answers 404.
fn capture(kubectl: &Path, args: &[String]) -> (String, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let (mut length, mut content_type) = (0, String::new());
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header == "\r\n" {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap_or((&header, ""));
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#;
            let head = format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                status.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(status).unwrap();
            if !body.is_empty() {
                let _ = sender.send((content_type, body));
                return;
            }
        }
    });
    // Flags go first: everything after `--` is the container command.
    let output = Command::new(kubectl)
        .arg(format!("--server=http://127.0.0.1:{port}"))
        .args(args)
        .env("KUBECONFIG", "/dev/null")
        .output()
        .unwrap();
    receiver
        .recv_timeout(std::time::Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("kubectl {args:?} sent no body: {}", String::from_utf8_lossy(&output.stderr)))
}

fn dry_run_json(kubectl: &Path, args: &[String]) -> Value {
    let output = Command::new(kubectl)
        .args(&args[..2])
        .args(["--dry-run=client", "-o", "json"])
        .args(&args[2..])
        .env("KUBECONFIG", "/dev/null")
        .output()
        .unwrap();
    assert!(output.status.success(), "dry run failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}
