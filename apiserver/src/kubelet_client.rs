//! The apiserver's side of the connect subresources served by kubelets:
//! `pods/log`, `pods/exec`, `pods/attach`, `pods/portforward` and
//! `nodes/proxy`. Finds the node's kubelet from its Node object, then proxies
//! the request to it over TLS with the apiserver's kubelet-client
//! certificate, passing WebSocket and SPDY upgrades through.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::Value;

use crate::request::RequestInfo;
use crate::resource_store::{ResourceStore, Target};
use crate::status::ApiError;

/// Kubelet port when a Node does not publish one.
const DEFAULT_KUBELET_PORT: u16 = 10250;

/// How the apiserver reaches kubelets.
#[derive(Debug, Clone)]
pub struct KubeletClient {
    tls: Arc<rustls::ClientConfig>,
    preferred_address_types: Vec<String>,
}

impl KubeletClient {
    /// Builds the client from the kubelet-client certificate and key, and the
    /// CA of kubelet serving certificates (without one they are not verified,
    /// as upstream does when `--kubelet-certificate-authority` is unset).
    pub fn new(
        cert: &std::path::Path,
        key: &std::path::Path,
        ca: Option<&std::path::Path>,
        preferred_address_types: Vec<String>,
    ) -> anyhow::Result<Self> {
        let (certs, key) = rustkube_component_base::serving::load_identity(cert, key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?;
        let builder = match ca {
            Some(ca) => builder.with_root_certificates(rustkube_component_base::serving::load_roots(ca)?),
            None => builder.dangerous().with_custom_certificate_verifier(Arc::new(Unverified(provider))),
        };
        let mut tls = builder.with_client_auth_cert(certs, key).context("kubelet client certificate and key")?;
        // Upgrades (exec, attach, port-forward) need HTTP/1.1.
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(KubeletClient { tls: Arc::new(tls), preferred_address_types })
    }

    /// Answers a connect subresource request by proxying it to the right kubelet.
    pub async fn connect(
        &self,
        store: &ResourceStore,
        info: &RequestInfo,
        query: &HashMap<String, Vec<String>>,
        req: Request<Body>,
    ) -> Result<Response<Body>, ApiError> {
        let name = info.name.as_deref().unwrap_or_default();
        let (node_name, path) = match (info.resource.plural, info.subresource.as_deref()) {
            ("nodes", Some("proxy")) => {
                let rest = info.proxy_path.as_deref().unwrap_or("");
                (name.to_owned(), format!("/{}", rest.trim_start_matches('/')))
            }
            ("pods", Some(sub @ ("log" | "exec" | "attach" | "portforward"))) => {
                let namespace = info.namespace.as_deref().unwrap_or("default");
                let t = Target { resource: info.resource, namespace: Some(namespace) };
                let pod = store.get(t, name).await?;
                let node = pod.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("");
                if node.is_empty() {
                    return Err(ApiError::bad_request(format!("pod {name} does not have a host assigned")));
                }
                let path = match sub {
                    "portforward" => format!("/portForward/{namespace}/{name}"),
                    _ => {
                        let container = pick_container(&pod, name, first(query, "container"))?;
                        let base = if sub == "log" { "containerLogs" } else { sub };
                        format!("/{base}/{namespace}/{name}/{container}")
                    }
                };
                (node.to_owned(), path)
            }
            _ => return Err(ApiError::method_not_allowed()),
        };
        let upstream_query = kubelet_query(info.subresource.as_deref().unwrap_or(""), info.resource.plural, query);
        let path_and_query = if upstream_query.is_empty() { path } else { format!("{path}?{upstream_query}") };
        let nodes = rustkube_api::registry::lookup("", "v1", "nodes")
            .ok_or_else(|| ApiError::internal("nodes not registered"))?;
        let node = store.get(Target { resource: nodes, namespace: None }, &node_name).await?;
        let (host, port) = self.location(&node, &node_name)?;
        self.proxy(&host, port, &path_and_query, req).await
    }

    /// The address and port of a node's kubelet.
    fn location(&self, node: &Value, node_name: &str) -> Result<(String, u16), ApiError> {
        let addresses = node.pointer("/status/addresses").and_then(Value::as_array).cloned().unwrap_or_default();
        let host = self
            .preferred_address_types
            .iter()
            .find_map(|kind| {
                addresses.iter().find_map(|a| {
                    (a.get("type").and_then(Value::as_str) == Some(kind.as_str()))
                        .then(|| a.get("address").and_then(Value::as_str))
                        .flatten()
                        .filter(|s| !s.is_empty())
                })
            })
            .ok_or_else(|| {
                ApiError::unavailable(format!("no preferred addresses found; known addresses: {addresses:?}"))
            })?
            .to_owned();
        let port = node
            .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .unwrap_or(DEFAULT_KUBELET_PORT);
        tracing::debug!(node = node_name, %host, port, "kubelet location");
        Ok((host, port))
    }

    /// Sends `req` to `https://host:port/path_and_query` and streams the answer
    /// back; a `101 Switching Protocols` answer joins the two connections.
    async fn proxy(
        &self,
        host: &str,
        port: u16,
        path_and_query: &str,
        mut req: Request<Body>,
    ) -> Result<Response<Body>, ApiError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            ApiError::unavailable(format!("error dialing backend: dial tcp {host}:{port}: {e}"))
        };
        let tcp = tokio::time::timeout(Duration::from_secs(10), tokio::net::TcpStream::connect((host, port)))
            .await
            .map_err(|_| unreachable(&"i/o timeout"))?
            .map_err(|e| unreachable(&e))?;
        let server_name = ServerName::try_from(host.to_owned()).map_err(|e| unreachable(&e))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
            .connect(server_name, tcp)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| unreachable(&e))?;
        tokio::spawn(async move {
            if let Err(err) = conn.with_upgrades().await {
                tracing::debug!(error = %err, "kubelet connection ended with an error");
            }
        });

        let wants_upgrade = req.headers().contains_key(header::UPGRADE);
        let client_upgrade = wants_upgrade.then(|| hyper::upgrade::on(&mut req));
        let (parts, body) = req.into_parts();
        let mut out = Request::builder().method(parts.method).uri(path_and_query);
        if let Some(headers) = out.headers_mut() {
            copy_headers(&parts.headers, headers, wants_upgrade);
            if let Ok(v) = format!("{host}:{port}").parse() {
                headers.insert(header::HOST, v);
            }
        }
        let out = out.body(body).map_err(|e| ApiError::internal(e.to_string()))?;
        let mut resp = sender.send_request(out).await.map_err(|e| unreachable(&e))?;

        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(client_upgrade) = client_upgrade else {
                return Err(ApiError::internal("kubelet switched protocols without being asked"));
            };
            let upstream_upgrade = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                let (client, upstream) = match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok(pair) => pair,
                    Err(err) => {
                        tracing::debug!(error = %err, "upgrade failed");
                        return;
                    }
                };
                let mut client = TokioIo::new(client);
                let mut upstream = TokioIo::new(upstream);
                if let Err(err) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                    tracing::debug!(error = %err, "upgraded stream ended with an error");
                }
            });
            let (parts, _) = resp.into_parts();
            return Ok(Response::from_parts(parts, Body::empty()));
        }
        let (parts, body) = resp.into_parts();
        let mut answer = Response::new(Body::new(body));
        *answer.status_mut() = parts.status;
        copy_headers(&parts.headers, answer.headers_mut(), false);
        Ok(answer)
    }
}

/// Copies end-to-end headers; hop-by-hop ones only when an upgrade is being passed through.
fn copy_headers(from: &HeaderMap, to: &mut HeaderMap, upgrade: bool) {
    for (name, value) in from {
        let hop_by_hop = matches!(
            name.as_str(),
            "connection"
                | "upgrade"
                | "keep-alive"
                | "proxy-connection"
                | "te"
                | "trailer"
                | "transfer-encoding"
                | "host"
                | "authorization"
                | "content-length"
        );
        let keep = !hop_by_hop || (upgrade && matches!(name.as_str(), "connection" | "upgrade"));
        if keep {
            to.append(name.clone(), value.clone());
        }
    }
    if let Some(len) = from.get(header::CONTENT_LENGTH) {
        to.insert(header::CONTENT_LENGTH, len.clone());
    }
}

fn first<'a>(query: &'a HashMap<String, Vec<String>>, key: &str) -> Option<&'a str> {
    query.get(key).and_then(|v| v.first()).map(String::as_str).filter(|s| !s.is_empty())
}

fn truthy(query: &HashMap<String, Vec<String>>, key: &str) -> bool {
    first(query, key).is_some_and(|v| v == "true" || v == "1")
}

/// The container a request names, or the pod's only one; upstream's wording otherwise.
fn pick_container(pod: &Value, pod_name: &str, requested: Option<&str>) -> Result<String, ApiError> {
    let names = |field: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .map(|cs| cs.iter().filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let (containers, init, ephemeral) = (names("containers"), names("initContainers"), names("ephemeralContainers"));
    match requested {
        Some(c) if containers.iter().chain(&init).chain(&ephemeral).any(|n| n == c) => Ok(c.to_owned()),
        Some(c) => Err(ApiError::bad_request(format!("container {c} is not valid for pod {pod_name}"))),
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                msg.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
            }
            Err(ApiError::bad_request(msg))
        }
    }
}

/// The query the kubelet expects, from the apiserver's options (upstream's
/// `PodLogOptions`, `PodExecOptions`, `PodAttachOptions`, `PodPortForwardOptions`).
fn kubelet_query(sub: &str, plural: &str, query: &HashMap<String, Vec<String>>) -> String {
    let mut out: Vec<(String, String)> = Vec::new();
    let flag = |key: &str, as_key: &str, out: &mut Vec<(String, String)>| {
        if truthy(query, key) {
            out.push((as_key.to_owned(), "1".to_owned()));
        }
    };
    match (plural, sub) {
        ("pods", "log") => {
            for key in ["follow", "previous", "timestamps"] {
                if truthy(query, key) {
                    out.push((key.to_owned(), "true".to_owned()));
                }
            }
            for key in ["sinceSeconds", "sinceTime", "tailLines", "limitBytes", "stream"] {
                if let Some(v) = first(query, key) {
                    out.push((key.to_owned(), v.to_owned()));
                }
            }
        }
        ("pods", "exec" | "attach") => {
            flag("stdin", "input", &mut out);
            flag("stdout", "output", &mut out);
            flag("stderr", "error", &mut out);
            flag("tty", "tty", &mut out);
            for c in query.get("command").into_iter().flatten() {
                out.push(("command".to_owned(), c.clone()));
            }
        }
        ("pods", "portforward") => {
            for p in query.get("ports").into_iter().flatten() {
                out.push(("port".to_owned(), p.clone()));
            }
        }
        _ => {
            for (k, vs) in query {
                for v in vs {
                    out.push((k.clone(), v.clone()));
                }
            }
            out.sort();
        }
    }
    form_urlencoded::Serializer::new(String::new()).extend_pairs(&out).finish()
}

/// Accepts any kubelet serving certificate (upstream's behaviour without
/// `--kubelet-certificate-authority`) while still checking the handshake signatures.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            m.entry((*k).to_owned()).or_default().push((*v).to_owned());
        }
        m
    }

    #[test]
    fn exec_options_become_the_kubelet_stream_parameters() {
        let query =
            q(&[("command", "sh"), ("command", "-c"), ("command", "echo hi"), ("stdout", "true"), ("tty", "false")]);
        assert_eq!(kubelet_query("exec", "pods", &query), "output=1&command=sh&command=-c&command=echo+hi");
        let query = q(&[("follow", "true"), ("tailLines", "10"), ("container", "c")]);
        assert_eq!(kubelet_query("log", "pods", &query), "follow=true&tailLines=10");
        assert_eq!(kubelet_query("portforward", "pods", &q(&[("ports", "8080")])), "port=8080");
    }

    #[test]
    fn container_is_the_only_one_or_must_be_named() {
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "i"}]}});
        let err = pick_container(&pod, "p", None).unwrap_err();
        assert_eq!(
            err.message,
            "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]"
        );
        assert_eq!(pick_container(&pod, "p", Some("i")).unwrap(), "i");
        assert_eq!(pick_container(&pod, "p", Some("z")).unwrap_err().message, "container z is not valid for pod p");
        let single = json!({"spec": {"containers": [{"name": "only"}]}});
        assert_eq!(pick_container(&single, "p", None).unwrap(), "only");
    }

    #[test]
    fn location_prefers_address_types_in_order_and_reads_the_port() {
        let dir = tempfile_dir();
        let client = test_client(&dir);
        let node = json!({"status": {
            "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.5"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10555}}
        }});
        assert_eq!(client.location(&node, "n1").unwrap(), ("10.0.0.5".to_owned(), 10555));
        let bare = json!({"status": {"addresses": [{"type": "Hostname", "address": "n1"}]}});
        assert_eq!(client.location(&bare, "n1").unwrap(), ("n1".to_owned(), DEFAULT_KUBELET_PORT));
        assert_eq!(client.location(&json!({}), "n1").unwrap_err().code, 503);
    }

    /// A stand-in kubelet (this module's unit test only): echoes the path it
    /// was asked for, or switches protocols and echoes bytes back.
    async fn start_backend() -> u16 {
        use axum::routing::any;
        let app = axum::Router::new().route(
            "/{*path}",
            any(|mut req: Request<Body>| async move {
                if req.headers().contains_key(header::UPGRADE) {
                    let on = hyper::upgrade::on(&mut req);
                    tokio::spawn(async move {
                        let Ok(upgraded) = on.await else { return };
                        let mut io = TokioIo::new(upgraded);
                        let (mut r, mut w) = tokio::io::split(&mut io);
                        let _ = tokio::io::copy(&mut r, &mut w).await;
                    });
                    return Response::builder()
                        .status(StatusCode::SWITCHING_PROTOCOLS)
                        .header(header::CONNECTION, "Upgrade")
                        .header(header::UPGRADE, "SPDY/3.1")
                        .body(Body::empty())
                        .unwrap();
                }
                let uri = req.uri().to_string();
                Response::new(Body::from(format!("kubelet saw {uri}")))
            }),
        );
        serve_in_background(app).await
    }

    async fn serve_in_background(app: axum::Router) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tls = rustkube_component_base::serving::self_signed_tls_config(&["127.0.0.1".into()]).unwrap();
        tokio::spawn(rustkube_component_base::serving::serve(listener, tls, app, |_| (), std::future::pending()));
        port
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn proxies_plain_requests_and_passes_upgrades_through() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let backend = start_backend().await;
        let dir = tempfile_dir();
        let client = Arc::new(test_client(&dir));
        // The front: a real incoming hyper request, as the apiserver gets one.
        let front_client = Arc::clone(&client);
        let front = axum::Router::new().route(
            "/{*path}",
            axum::routing::any(move |req: Request<Body>| {
                let client = Arc::clone(&front_client);
                async move {
                    let pq = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
                    client
                        .proxy("127.0.0.1", backend, &pq, req)
                        .await
                        .unwrap_or_else(axum::response::IntoResponse::into_response)
                }
            }),
        );
        let front_port = serve_in_background(front).await;

        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&client.tls));
        let connect = || async {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", front_port)).await.unwrap();
            connector.connect(ServerName::try_from("127.0.0.1").unwrap(), tcp).await.unwrap()
        };

        let mut plain = connect().await;
        plain
            .write_all(b"GET /containerLogs/ns/p/c?follow=true HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        plain.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("kubelet saw /containerLogs/ns/p/c?follow=true"), "{answer}");

        let mut upgraded = connect().await;
        upgraded
            .write_all(
                b"POST /exec/ns/p/c?output=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n",
            )
            .await
            .unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            assert_eq!(upgraded.read(&mut byte).await.unwrap(), 1, "connection closed before the 101 ended");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(head.to_ascii_lowercase().contains("upgrade: spdy/3.1"), "{head}");
        upgraded.write_all(b"ping through the tunnel").await.unwrap();
        let mut echoed = [0u8; 23];
        tokio::time::timeout(Duration::from_secs(5), upgraded.read_exact(&mut echoed)).await.unwrap().unwrap();
        assert_eq!(&echoed, b"ping through the tunnel");
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rk-kubelet-client-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn test_client(dir: &std::path::Path) -> KubeletClient {
        let ca = rustkube_pki::CertificateAuthority::generate("test-ca").unwrap();
        let issued =
            ca.issue(&rustkube_pki::CertRequest::client("kube-apiserver-kubelet-client", ["system:masters"])).unwrap();
        let (cert, key) = rustkube_pki::write_pem_files(dir, "client", &issued).unwrap();
        let client = KubeletClient::new(&cert, &key, None, vec!["InternalIP".into(), "Hostname".into()]).unwrap();
        let _ = std::fs::remove_dir_all(dir);
        client
    }
}
