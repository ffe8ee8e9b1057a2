//! The kubelet API's streaming endpoints (`/exec`, `/attach`, `/portForward`),
//! as upstream's: the runtime hands out a URL on its streaming server (CRI
//! `Exec`, `Attach`, `PortForward`), and the client's upgrade request (SPDY or
//! WebSocket) is proxied there; on `101 Switching Protocols` the two upgraded
//! connections are spliced together, any other answer goes back as it came.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;

use crate::runtime::{self, ContainerState, SandboxState, SharedRuntime, Streams};

/// How long dialing the runtime's streaming server may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// What an exec, attach or port-forward request asks for, from its query
/// (upstream's `input`/`output`/`error`/`tty` = `1`, repeated `command`,
/// repeated `port`; the `stdin`/`stdout`/`stderr` spellings and `true` are
/// accepted too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub command: Vec<String>,
    pub streams: Streams,
    pub ports: Vec<i32>,
}

/// A request the kubelet refuses, as a `metav1.Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: StatusCode,
    pub message: String,
}

impl Refusal {
    fn new(code: StatusCode, message: impl Into<String>) -> Self {
        Refusal { code, message: message.into() }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// The refusal as a `Status` body, which client-go shows as the error.
    pub fn into_response(self) -> Response<Body> {
        status_response(self.code, &self.message)
    }
}

/// A `metav1.Status` failure response.
pub fn status_response(code: StatusCode, message: &str) -> Response<Body> {
    let reason = match code {
        StatusCode::BAD_REQUEST => "BadRequest",
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::NOT_IMPLEMENTED => "NotImplemented",
        StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailable",
        StatusCode::BAD_GATEWAY => "BadGateway",
        _ => "InternalError",
    };
    let body = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = code;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn truthy(v: &str) -> bool {
    matches!(v, "1" | "true" | "True")
}

impl Params {
    /// Parses a raw query string.
    pub fn parse(query: Option<&str>) -> Result<Self, Refusal> {
        let mut p = Params::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "command" => p.command.push(v.into_owned()),
                "input" | "stdin" => p.streams.stdin |= truthy(&v),
                "output" | "stdout" => p.streams.stdout |= truthy(&v),
                "error" | "stderr" => p.streams.stderr |= truthy(&v),
                "tty" => p.streams.tty |= truthy(&v),
                "port" | "ports" => {
                    for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        match part.parse::<u16>() {
                            Ok(port) if port > 0 => p.ports.push(i32::from(port)),
                            _ => return Err(Refusal::bad_request(format!("invalid port {part:?}"))),
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(p)
    }

    /// Upstream's `remotecommand` checks: a terminal has no separate stderr,
    /// and a session carries at least one stream.
    pub fn check_streams(&mut self) -> Result<(), Refusal> {
        if self.streams.tty && self.streams.stderr {
            self.streams.stderr = false;
        }
        if !self.streams.stdin && !self.streams.stdout && !self.streams.stderr {
            return Err(Refusal::bad_request("you must specify at least 1 of stdin, stdout, stderr"));
        }
        Ok(())
    }
}

fn runtime_refusal(e: runtime::Error) -> Refusal {
    match e {
        runtime::Error::Unsupported { .. } => Refusal::new(StatusCode::NOT_IMPLEMENTED, e.to_string()),
        runtime::Error::NotFound { .. } => Refusal::new(StatusCode::NOT_FOUND, e.to_string()),
        runtime::Error::Connect { .. } => Refusal::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        other => Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}

/// The id of the running container `name` of pod `uid` (its newest attempt).
pub async fn running_container(runtime: &SharedRuntime, uid: &str, name: &str) -> Result<String, Refusal> {
    let containers = runtime.list_containers().await.map_err(runtime_refusal)?;
    containers
        .into_iter()
        .filter(|c| c.pod_uid() == Some(uid) && c.name == name && c.state == ContainerState::Running)
        .max_by_key(|c| (c.attempt, c.created_at))
        .map(|c| c.id)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("container not found ({name:?})")))
}

/// The id of the ready sandbox of pod `uid`.
pub async fn ready_sandbox(runtime: &SharedRuntime, uid: &str, pod_full_name: &str) -> Result<String, Refusal> {
    let sandboxes = runtime.list_pod_sandboxes().await.map_err(runtime_refusal)?;
    sandboxes
        .into_iter()
        .filter(|s| s.uid == uid && s.state == SandboxState::Ready)
        .max_by_key(|s| s.created_at)
        .map(|s| s.id)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("pod not found ({pod_full_name:?})")))
}

/// What a streaming session is for.
#[derive(Debug, Clone)]
pub enum Session {
    Exec { container_id: String },
    Attach { container_id: String },
    PortForward { sandbox_id: String },
}

/// Asks the runtime for the streaming URL of `session`.
pub async fn url(runtime: &SharedRuntime, session: &Session, params: &Params) -> Result<String, Refusal> {
    let url = match session {
        Session::Exec { container_id } => runtime.exec(container_id, &params.command, params.streams).await,
        Session::Attach { container_id } => runtime.attach(container_id, params.streams).await,
        Session::PortForward { sandbox_id } => runtime.port_forward(sandbox_id, &params.ports).await,
    };
    url.map_err(runtime_refusal)
}

/// Whether the request asks to switch protocols.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    connection_upgrade && headers.contains_key(header::UPGRADE)
}

/// Headers not forwarded to the streaming server (hop-by-hop ones other
/// than the upgrade's own, and the client's credentials for the kubelet).
fn forwarded(name: &header::HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host" | "authorization" | "keep-alive" | "proxy-connection" | "te" | "trailer" | "transfer-encoding"
    )
}

/// Proxies the upgrade request `req` to `url` (the runtime's streaming
/// server, plain HTTP) and splices the upgraded connections, as upstream's
/// `UpgradeAwareHandler` with `upgradeRequired`.
pub async fn proxy(url: &str, mut req: Request<Body>) -> Response<Body> {
    if !is_upgrade(req.headers()) {
        return Refusal::bad_request("Upgrade request required").into_response();
    }
    let target: Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            return Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, format!("invalid streaming URL {url:?}: {e}"))
                .into_response();
        }
    };
    if target.scheme_str().is_some_and(|s| s != "http") {
        return Refusal::new(StatusCode::NOT_IMPLEMENTED, format!("streaming URL {url:?}: only http is supported"))
            .into_response();
    }
    let Some(authority) = target.authority().cloned() else {
        return Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, format!("streaming URL {url:?} has no host"))
            .into_response();
    };
    let port = authority.port_u16().unwrap_or(80);
    let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
    let unreachable = |e: &dyn std::fmt::Display| {
        Refusal::new(
            StatusCode::BAD_GATEWAY,
            format!("error dialing the runtime's streaming server at {authority}: {e}"),
        )
        .into_response()
    };
    let tcp = match tokio::time::timeout(DIAL_TIMEOUT, tokio::net::TcpStream::connect((host.as_str(), port))).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return unreachable(&e),
        Err(_) => return unreachable(&"i/o timeout"),
    };
    let _ = tcp.set_nodelay(true);
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await {
        Ok(pair) => pair,
        Err(e) => return unreachable(&e),
    };
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "streaming server connection ended with an error");
        }
    });

    let client_upgrade = hyper::upgrade::on(&mut req);
    let path = target.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".to_owned());
    let mut out = Request::builder().method(req.method().clone()).uri(path);
    if let Some(headers) = out.headers_mut() {
        for (name, value) in req.headers() {
            if forwarded(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        if let Ok(v) = HeaderValue::from_str(authority.as_str()) {
            headers.insert(header::HOST, v);
        }
    }
    let out = match out.body(Body::empty()) {
        Ok(r) => r,
        Err(e) => return Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut resp = match sender.send_request(out).await {
        Ok(r) => r,
        Err(e) => return unreachable(&e),
    };
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        tracing::debug!(status = %resp.status(), "the streaming server refused the upgrade");
        let (parts, body) = resp.into_parts();
        let mut answer = Response::new(Body::new(body));
        *answer.status_mut() = parts.status;
        for (name, value) in &parts.headers {
            if forwarded(name) && !matches!(name.as_str(), "connection" | "upgrade") {
                answer.headers_mut().append(name.clone(), value.clone());
            }
        }
        return answer;
    }
    let upstream_upgrade = hyper::upgrade::on(&mut resp);
    tokio::spawn(async move {
        let (client, upstream) = match tokio::try_join!(client_upgrade, upstream_upgrade) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!(error = %e, "streaming upgrade failed");
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            Ok((up, down)) => tracing::debug!(bytes_to_runtime = up, bytes_to_client = down, "stream closed"),
            Err(e) => tracing::debug!(error = %e, "stream ended with an error"),
        }
    });
    let (parts, _) = resp.into_parts();
    Response::from_parts(parts, Body::empty())
}

/// Path parameters of the streaming routes (`namespace`, `pod`, optional `uid`, `container`).
pub type PathParams = HashMap<String, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_in_upstream_and_kubectl_spellings() {
        let p = Params::parse(Some("command=sh&command=-c&command=echo+hi&input=1&output=1&tty=1&error=1")).unwrap();
        assert_eq!(p.command, ["sh", "-c", "echo hi"]);
        assert_eq!(p.streams, Streams { stdin: true, stdout: true, stderr: true, tty: true });
        let p = Params::parse(Some("stdout=true&stderr=false")).unwrap();
        assert_eq!(p.streams, Streams { stdout: true, ..Default::default() });
        assert_eq!(Params::parse(Some("port=8080&port=53,54")).unwrap().ports, [8080, 53, 54]);
        assert_eq!(Params::parse(Some("port=http")).unwrap_err().code, StatusCode::BAD_REQUEST);
        assert_eq!(Params::parse(Some("port=70000")).unwrap_err().code, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_terminal_drops_stderr_and_a_session_needs_a_stream() {
        let mut p = Params::parse(Some("tty=1&output=1&error=1")).unwrap();
        p.check_streams().unwrap();
        assert!(!p.streams.stderr && p.streams.stdout && p.streams.tty);
        let err = Params::parse(Some("command=ls")).unwrap().check_streams().unwrap_err();
        assert_eq!(err.message, "you must specify at least 1 of stdin, stdout, stderr");
    }

    #[test]
    fn only_connection_upgrade_requests_are_upgrades() {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
        assert!(!is_upgrade(&h), "Upgrade without Connection: Upgrade");
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        assert!(is_upgrade(&h));
    }

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stand-in streaming server: answers the upgrade with `status` and
    /// then echoes; returns its URL and the request head it saw.
    async fn streaming_server(status: &'static str) -> (String, tokio::sync::oneshot::Receiver<String>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/exec/t0ken", l.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let head = read_head(&mut s).await;
            let _ = tx.send(head);
            if status.starts_with("101") {
                let answer = format!(
                    "HTTP/1.1 {status}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n"
                );
                s.write_all(answer.as_bytes()).await.unwrap();
                let mut buf = [0u8; 64];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            } else {
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 9\r\n\r\nforbidden");
                s.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        (url, rx)
    }

    async fn read_head(s: &mut tokio::net::TcpStream) -> String {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut b).await.unwrap() == 0 {
                break;
            }
            head.push(b[0]);
        }
        String::from_utf8_lossy(&head).into_owned()
    }

    /// A kubelet-side server whose every request is proxied to `url`.
    async fn kubelet_server(url: String) -> std::net::SocketAddr {
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let url = url.clone();
            async move { proxy(&url, req).await }
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await });
        addr
    }

    const UPGRADE: &str = "GET /exec/ns/p/c?command=ls&output=1 HTTP/1.1\r\nHost: kubelet\r\nConnection: Upgrade\r\n\
        Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: v3.channel.k8s.io\r\n\
        Authorization: Bearer secret\r\n\r\n";

    #[tokio::test]
    async fn an_upgrade_is_passed_through_and_the_connections_spliced() {
        let (url, seen) = streaming_server("101 Switching Protocols").await;
        let addr = kubelet_server(url).await;
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(UPGRADE.as_bytes()).await.unwrap();
        let head = read_head(&mut c).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(head.to_ascii_lowercase().contains("x-stream-protocol-version: v4.channel.k8s.io"), "{head}");
        let upstream = seen.await.unwrap();
        assert!(upstream.starts_with("GET /exec/t0ken HTTP/1.1"), "the runtime's URL, not the client's: {upstream}");
        let lower = upstream.to_ascii_lowercase();
        assert!(lower.contains("x-stream-protocol-version: v3.channel.k8s.io"), "every protocol offered: {upstream}");
        assert!(lower.contains("upgrade: spdy/3.1") && !lower.contains("authorization"), "{upstream}");
        c.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping", "bytes flow through the spliced connections");
    }

    #[tokio::test]
    async fn a_refused_upgrade_goes_back_as_the_runtime_answered() {
        let (url, _seen) = streaming_server("403 Forbidden").await;
        let addr = kubelet_server(url).await;
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(UPGRADE.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 512];
        // The connection stays open (keep-alive): read until the body is in.
        while !answer.ends_with(b"forbidden") {
            match tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(answer.ends_with("forbidden"), "{answer}");
    }

    #[tokio::test]
    async fn a_plain_request_is_refused_before_the_runtime_is_dialed() {
        let req = Request::builder().uri("/exec/ns/p/c").body(Body::empty()).unwrap();
        let resp = proxy("http://127.0.0.1:1/exec/token", req).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((v["kind"].as_str(), v["message"].as_str()), (Some("Status"), Some("Upgrade request required")));
    }
}
