//! Checks the presence table against Go itself: a fake apiserver answers real kubectl typed commands
//! (`create … --dry-run=server -o json`, `run`, `events`, `auth whoami`) with
//! objects in which every scalar is set to zero (round A) or left out (round B); kubectl decodes them
//! into its Go structs and prints Go's JSON, which shows which fields Go keeps when zero.
//!
//! `PRESENCE_ORACLE_PRINT=1` prints the observed table rows; skipped when kubectl is not installed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{Presence, presence};
use crate::schema::{Cardinality, Kind, Message, Schema, schema};
use crate::wellknown::{Special, special};
use crate::wire::{put_len_field, put_varint_field};

#[derive(Clone, Copy, PartialEq)]
enum Round {
    /// Every scalar present with its zero value; lists and maps with one element.
    ZeroPresent,
    /// Scalars, scalar lists and scalar maps absent; message lists and maps with one element.
    ScalarsAbsent,
    /// Only single message fields present.
    ListsAbsent,
}

const ROUNDS: [Round; 3] = [Round::ZeroPresent, Round::ScalarsAbsent, Round::ListsAbsent];

/// What a field holds, which decides the rounds that tell its presence.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Scalar,
    ScalarList,
    MessageList,
    Message,
}

fn shape(cardinality: &Cardinality, kind: &Kind) -> Shape {
    match (cardinality, kind) {
        (Cardinality::Single, Kind::Message(_)) => Shape::Message,
        (Cardinality::Single, _) => Shape::Scalar,
        (Cardinality::Repeated, Kind::Message(_)) | (Cardinality::Map { value: Kind::Message(_), .. }, _) => {
            Shape::MessageList
        }
        _ => Shape::ScalarList,
    }
}

/// Whether `round` says anything about a field of `shape` (it is absent or zero there).
fn tells(round: Round, shape: Shape) -> bool {
    matches!(
        (round, shape),
        (Round::ZeroPresent | Round::ScalarsAbsent, Shape::Scalar)
            | (Round::ScalarsAbsent, Shape::ScalarList)
            | (Round::ListsAbsent, Shape::MessageList)
    )
}

/// `(kubectl arguments, apiVersion, kind of the object the server answers with)`.
const COMMANDS: &[(&str, &str, &str)] = &[
    ("create configmap o --from-literal=a=b", "v1", "ConfigMap"),
    ("create secret generic o --from-literal=a=b", "v1", "Secret"),
    ("create deployment o --image=nginx", "apps/v1", "Deployment"),
    ("create job o --image=busybox", "batch/v1", "Job"),
    ("create cronjob o --image=busybox --schedule=*/1_*_*_*_*", "batch/v1", "CronJob"),
    ("create namespace o", "v1", "Namespace"),
    ("create serviceaccount o", "v1", "ServiceAccount"),
    ("create service clusterip o --tcp=80:8080", "v1", "Service"),
    ("create clusterrole o --verb=get --non-resource-url=/x", "rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("create rolebinding o --clusterrole=x --user=u", "rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("create clusterrolebinding o --clusterrole=x --user=u", "rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("create quota o --hard=pods=1", "v1", "ResourceQuota"),
    ("create priorityclass o --value=5", "scheduling.k8s.io/v1", "PriorityClass"),
    ("create pdb o --selector=a=b --min-available=1", "policy/v1", "PodDisruptionBudget"),
    ("create ingress o --rule=foo.com/bar=svc:80", "networking.k8s.io/v1", "Ingress"),
    ("run o --image=nginx", "v1", "Pod"),
    ("events", "v1", "EventList"),
    ("auth whoami", "authentication.k8s.io/v1", "SelfSubjectReview"),
];

fn kubectl() -> Option<PathBuf> {
    let path =
        std::env::var_os("KUBECTL").map(PathBuf::from).unwrap_or("/usr/lib/google-cloud-sdk/bin/kubectl.1.33".into());
    path.exists().then_some(path)
}

#[test]
fn presence_table_matches_what_kubectl_prints() {
    let Some(kubectl) = kubectl() else {
        eprintln!("kubectl 1.33 not installed: skipping the presence oracle");
        return;
    };
    let schema = schema().unwrap();
    let server = FakeApiserver::start();
    // (message, field) -> printed in each round (None: not reached or not telling)
    let mut seen: BTreeMap<(String, String), [bool; 3]> = BTreeMap::new();
    for (args, api_version, kind) in COMMANDS {
        let message = schema.message_for(api_version, kind).unwrap();
        for (r, round) in ROUNDS.into_iter().enumerate() {
            *server.response.lock().unwrap() =
                crate::envelope::seal(api_version, kind, &fill(schema, message, round, &mut vec![]));
            let json = server.run(&kubectl, args);
            let mut observed = BTreeMap::new();
            observe(schema, message, &json, round, &mut vec![], &mut observed);
            for (key, printed) in observed {
                // `kubectl events` prints a list it builds itself, not the response's ListMeta.
                if key.0 == "apimachinery.pkg.apis.meta.v1.ListMeta" {
                    continue;
                }
                seen.entry(key).or_default()[r] |= printed;
            }
        }
    }
    let mut mismatches = Vec::new();
    let print = std::env::var_os("PRESENCE_ORACLE_PRINT").is_some();
    for ((message, field), [zero, scalars_absent, lists_absent]) in &seen {
        let expected = if *scalars_absent || *lists_absent {
            Presence::Always
        } else if *zero {
            Presence::Pointer
        } else {
            Presence::OmitEmpty
        };
        if print && expected != Presence::OmitEmpty {
            let code = if expected == Presence::Always { "A" } else { "P" };
            println!("    (\"{message}\", \"{field}\", {code}),");
        }
        if presence(message, field) != expected {
            mismatches
                .push(format!("{message}.{field}: go shows {expected:?}, table has {:?}", presence(message, field)));
        }
    }
    assert!(seen.len() > 400, "the oracle should have observed most pod and workload fields, saw {}", seen.len());
    assert!(mismatches.is_empty(), "presence table disagrees with kubectl:\n{}", mismatches.join("\n"));
}

/// An encoded `message` with every field set (scalars as zero in round A, absent in round B), message
/// fields filled recursively, lists with one element and maps with one entry keyed `k`.
fn fill(schema: &Schema, message: &Message, round: Round, stack: &mut Vec<String>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(special) = special(&message.full_name) {
        match special {
            Special::Quantity => put_len_field(&mut out, 1, b"1"),
            Special::RawJson => put_len_field(&mut out, 1, b"{}"),
            Special::StringList => put_len_field(&mut out, 1, b"x"),
            Special::Time | Special::MicroTime => put_varint_field(&mut out, 1, 1_704_164_645),
            _ => {}
        }
        return out;
    }
    if stack.contains(&message.full_name) {
        return out;
    }
    stack.push(message.full_name.clone());
    for field in &message.fields {
        let shape = shape(&field.cardinality, &field.kind);
        if round != Round::ZeroPresent && matches!(shape, Shape::Scalar | Shape::ScalarList) {
            continue;
        }
        // A list kind keeps its items, or kubectl has nothing to print.
        if round == Round::ListsAbsent && shape == Shape::MessageList && !(stack.len() == 1 && field.name == "items") {
            continue;
        }
        match (&field.cardinality, &field.kind) {
            (Cardinality::Map { value: Kind::Message(name), .. }, _) => {
                let mut entry = Vec::new();
                put_len_field(&mut entry, 1, b"k");
                put_len_field(&mut entry, 2, &fill(schema, schema.message(name).unwrap(), round, stack));
                put_len_field(&mut out, field.number, &entry);
            }
            (Cardinality::Map { value, .. }, _) => {
                let mut entry = Vec::new();
                put_len_field(&mut entry, 1, b"k");
                put_zero(&mut entry, 2, value);
                put_len_field(&mut out, field.number, &entry);
            }
            (_, Kind::Message(name)) => {
                put_len_field(&mut out, field.number, &fill(schema, schema.message(name).unwrap(), round, stack));
            }
            (_, kind) => put_zero(&mut out, field.number, kind),
        }
    }
    stack.pop();
    out
}

fn put_zero(out: &mut Vec<u8>, number: u32, kind: &Kind) {
    match kind {
        Kind::String | Kind::Bytes => put_len_field(out, number, b""),
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => {
            crate::wire::put_key(out, number, crate::wire::FIXED64);
            out.extend_from_slice(&[0; 8]);
        }
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => {
            crate::wire::put_key(out, number, crate::wire::FIXED32);
            out.extend_from_slice(&[0; 4]);
        }
        _ => put_varint_field(out, number, 0),
    }
}

/// Records, for every scalar, list and map field of `message` reachable in `json`, whether it was printed.
fn observe(
    schema: &Schema,
    message: &Message,
    json: &Value,
    round: Round,
    stack: &mut Vec<String>,
    out: &mut BTreeMap<(String, String), bool>,
) {
    let Some(object) = json.as_object() else { return };
    if special(&message.full_name).is_some() || stack.contains(&message.full_name) {
        return;
    }
    stack.push(message.full_name.clone());
    for field in &message.fields {
        let name = crate::wellknown::json_name(&message.full_name, &field.name);
        let value = object.get(name.as_ref());
        let nested = match (&field.cardinality, &field.kind) {
            (Cardinality::Single, Kind::Message(n)) if crate::wellknown::is_inline(&message.full_name, &field.name) => {
                Some((n, json))
            }
            (Cardinality::Single, Kind::Message(n)) => value.map(|v| (n, v)),
            (Cardinality::Repeated, Kind::Message(n)) => value.and_then(|v| v.get(0)).map(|v| (n, v)),
            (Cardinality::Map { value: Kind::Message(n), .. }, _) => value.and_then(|v| v.get("k")).map(|v| (n, v)),
            _ => None,
        };
        if tells(round, shape(&field.cardinality, &field.kind)) {
            out.insert((message.full_name.clone(), field.name.clone()), value.is_some());
        }
        if let Some((name, value)) = nested {
            observe(schema, schema.message(name).unwrap(), value, round, stack, out);
        }
    }
    stack.pop();
}

/// Answers discovery for pods (`kubectl run` maps them first) and everything else with the current
/// `response`.
struct FakeApiserver {
    port: u16,
    response: Arc<Mutex<Vec<u8>>>,
}

impl FakeApiserver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let response = Arc::new(Mutex::new(Vec::new()));
        let shared = response.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let path = request_line.split_whitespace().nth(1).unwrap_or("").split('?').next().unwrap_or("");
                // Even requests that accept only JSON (`kubectl run`) decode a protobuf answer.
                let (content_type, payload) = match discovery(path) {
                    Some(json) => ("application/json", json.into_bytes()),
                    None => ("application/vnd.kubernetes.protobuf", shared.lock().unwrap().clone()),
                };
                let status = if request_line.starts_with("POST") { "201 Created" } else { "200 OK" };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    payload.len()
                );
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&payload));
            }
        });
        FakeApiserver { port, response }
    }

    fn run(&self, kubectl: &PathBuf, args: &str) -> Value {
        let mut command = Command::new(kubectl);
        command.args(args.split(' ').map(|a| a.replace('_', " ")));
        if (args.starts_with("create") && !args.starts_with("create token")) || args.starts_with("run") {
            command.arg("--dry-run=server");
        }
        let output = command
            .args(["-o", "json", "--server"])
            .arg(format!("http://127.0.0.1:{}", self.port))
            .env("KUBECONFIG", "/dev/null")
            .env("HOME", std::env::temp_dir())
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "kubectl {args}: {e}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }
}

fn discovery(path: &str) -> Option<String> {
    let resource = |name: &str, kind: &str, namespaced: bool| {
        format!(
            r#"{{"name":"{name}","namespaced":{namespaced},"kind":"{kind}","verbs":["create","get","list","update"]}}"#
        )
    };
    let json = match path {
        "/api" => r#"{"kind":"APIVersions","versions":["v1"]}"#.to_owned(),
        "/apis" => r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#.to_owned(),
        "/api/v1" => format!(
            r#"{{"kind":"APIResourceList","groupVersion":"v1","resources":[{},{}]}}"#,
            resource("pods", "Pod", true),
            resource("events", "Event", true)
        ),
        _ => return None,
    };
    Some(json)
}
