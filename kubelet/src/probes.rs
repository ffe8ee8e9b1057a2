//! Container probes (startup, readiness, liveness) with exec, httpGet,
//! tcpSocket and grpc handlers, thresholds and periods as upstream's `prober`:
//! readiness starts failed and liveness/startup successful-until-proven
//! otherwise; a result flips after `successThreshold` / `failureThreshold`
//! consecutive outcomes; nothing but startup runs before startup succeeds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::runtime::SharedRuntime;

pub mod grpc;

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Startup,
    Readiness,
    Liveness,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Readiness => "Readiness",
            Kind::Liveness => "Liveness",
        }
    }
}

#[derive(Debug, Clone)]
struct State {
    successes: i32,
    failures: i32,
    result: bool,
    next_run: Instant,
}

/// The probe states of one container instance.
#[derive(Debug, Default)]
struct ContainerProbes {
    container_id: String,
    states: HashMap<Kind, State>,
}

/// What the probes say about a container now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub ready: bool,
    pub started: bool,
    /// The liveness probe failed `failureThreshold` times: restart it.
    pub kill: bool,
}

/// A failed probe to report as an `Unhealthy` event.
#[derive(Debug, Clone)]
pub struct Failure {
    pub container: String,
    pub kind: Kind,
    pub output: String,
}

/// The probe states of one pod.
#[derive(Debug, Default)]
pub struct Prober {
    containers: HashMap<String, ContainerProbes>,
}

fn secs(v: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(u64::try_from(v.unwrap_or(default).max(0)).unwrap_or(0))
}

impl Prober {
    /// Runs the probes of `container` (instance `container_id`, started at
    /// `started_at`) that are due; returns the verdict and when the next
    /// probe is due.
    pub async fn probe(
        &mut self,
        runtime: &SharedRuntime,
        container: &Container,
        container_id: &str,
        started_at: Instant,
        pod_ip: &str,
        failures: &mut Vec<Failure>,
    ) -> (Verdict, Option<Instant>) {
        let entry = self.containers.entry(container.name.clone()).or_default();
        if entry.container_id != container_id {
            *entry = ContainerProbes { container_id: container_id.to_owned(), states: HashMap::new() };
        }
        let probes = [
            (Kind::Startup, container.startup_probe.as_ref()),
            (Kind::Readiness, container.readiness_probe.as_ref()),
            (Kind::Liveness, container.liveness_probe.as_ref()),
        ];
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for (kind, probe) in probes {
            let Some(probe) = probe else { continue };
            let started = match entry.states.get(&Kind::Startup) {
                Some(s) => s.result,
                None => container.startup_probe.is_none(),
            };
            if kind != Kind::Startup && !started {
                continue;
            }
            let state = entry.states.entry(kind).or_insert_with(|| State {
                successes: 0,
                failures: 0,
                // Readiness and startup start failed; liveness starts healthy.
                result: kind == Kind::Liveness,
                next_run: started_at + secs(probe.initial_delay_seconds, 0),
            });
            if state.next_run <= now {
                let timeout = secs(probe.timeout_seconds, 1).max(Duration::from_secs(1));
                let outcome = run_probe(runtime, probe, container, container_id, pod_ip, timeout).await;
                match outcome {
                    Ok(()) => {
                        state.successes += 1;
                        state.failures = 0;
                        let threshold = probe.success_threshold.unwrap_or(1).max(1);
                        if state.successes >= threshold {
                            state.result = true;
                        }
                    }
                    Err(output) => {
                        state.failures += 1;
                        state.successes = 0;
                        let threshold = probe.failure_threshold.unwrap_or(3).max(1);
                        if state.failures >= threshold {
                            state.result = false;
                        }
                        failures.push(Failure { container: container.name.clone(), kind, output });
                    }
                }
                state.next_run = now + secs(probe.period_seconds, 10).max(Duration::from_secs(1));
                // Startup succeeded: it is not run again for this instance.
                if kind == Kind::Startup && state.result {
                    state.next_run = now + Duration::from_secs(86400 * 365);
                }
            }
            next = Some(next.map_or(state.next_run, |n: Instant| n.min(state.next_run)));
        }
        let get = |k: Kind, default: bool| entry.states.get(&k).map(|s| s.result).unwrap_or(default);
        let started = get(Kind::Startup, container.startup_probe.is_none());
        let verdict = Verdict {
            started,
            ready: started && get(Kind::Readiness, container.readiness_probe.is_none()),
            kill: started && !get(Kind::Liveness, true),
        };
        if verdict.kill {
            // A new instance starts over.
            entry.states.clear();
        }
        (verdict, next)
    }

    /// Forgets containers that are no longer running.
    pub fn retain(&mut self, running: &[String]) {
        self.containers.retain(|name, _| running.contains(name));
    }
}

fn port_of(port: &IntOrString, container: &Container) -> Result<u16, String> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).map_err(|_| format!("invalid port {p}")),
        IntOrString::String(name) => {
            if let Ok(n) = name.parse::<u16>() {
                return Ok(n);
            }
            container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
                .ok_or_else(|| format!("couldn't find port {name:?} in container"))
        }
    }
}

async fn run_probe(
    runtime: &SharedRuntime,
    probe: &Probe,
    container: &Container,
    container_id: &str,
    pod_ip: &str,
    timeout: Duration,
) -> Result<(), String> {
    if let Some(exec) = &probe.exec {
        let cmd = exec.command.clone().unwrap_or_default();
        let t = i64::try_from(timeout.as_secs()).unwrap_or(1);
        return match runtime.exec_sync(container_id, &cmd, t).await {
            Ok((0, _)) => Ok(()),
            Ok((code, out)) => {
                Err(format!("command {cmd:?} exited with {code}: {}", String::from_utf8_lossy(&out).trim()))
            }
            Err(e) => Err(e.to_string()),
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        let host = tcp.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| pod_ip.to_owned());
        let port = port_of(&tcp.port, container)?;
        return match tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("dial tcp {host}:{port}: {e}")),
            Err(_) => Err(format!("dial tcp {host}:{port}: i/o timeout")),
        };
    }
    if let Some(http) = &probe.http_get {
        let host = http.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| pod_ip.to_owned());
        let port = port_of(&http.port, container)?;
        let https = http.scheme.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("https"));
        let scheme = if https { "https" } else { "http" };
        let path = http.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".into());
        let headers: Vec<(String, String)> =
            http.http_headers.iter().flatten().map(|h| (h.name.clone(), h.value.clone())).collect();
        return match tokio::time::timeout(timeout, http_get(&host, port, https, &path, &headers)).await {
            Ok(Ok(code)) if (200..400).contains(&code) => Ok(()),
            Ok(Ok(code)) => Err(format!("HTTP probe failed with statuscode: {code}")),
            Ok(Err(e)) => Err(format!("Get \"{scheme}://{host}:{port}{path}\": {e}")),
            Err(_) => Err(format!(
                "Get \"{scheme}://{host}:{port}{path}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            )),
        };
    }
    if let Some(g) = &probe.grpc {
        let port = u16::try_from(g.port).map_err(|_| format!("invalid gRPC port {}", g.port))?;
        return grpc::check(pod_ip, port, g.service.as_deref().unwrap_or_default(), timeout).await;
    }
    Err("probe has no handler".into())
}

/// Runs a lifecycle hook handler (postStart/preStop): exec, httpGet,
/// tcpSocket or sleep, within `timeout`.
pub async fn run_hook(
    runtime: &SharedRuntime,
    handler: &k8s_openapi::api::core::v1::LifecycleHandler,
    container: &Container,
    container_id: &str,
    pod_ip: &str,
    timeout: Duration,
) -> Result<(), String> {
    if let Some(sleep) = &handler.sleep {
        let d = Duration::from_secs(u64::try_from(sleep.seconds.max(0)).unwrap_or(0)).min(timeout);
        tokio::time::sleep(d).await;
        return Ok(());
    }
    let probe = Probe {
        exec: handler.exec.clone(),
        http_get: handler.http_get.clone(),
        tcp_socket: handler.tcp_socket.clone(),
        ..Default::default()
    };
    match tokio::time::timeout(timeout, run_probe(runtime, &probe, container, container_id, pod_ip, timeout)).await {
        Ok(r) => r,
        Err(_) => Err(format!("hook timed out after {timeout:?}")),
    }
}

/// A minimal HTTP/1.1 GET (over TLS without certificate verification for
/// HTTPS, as upstream's prober): the status code of the answer.
async fn http_get(
    host: &str,
    port: u16,
    https: bool,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<u16> {
    let tcp = TcpStream::connect((host, port)).await?;
    if https {
        let name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(insecure_tls()?).connect(name, tcp).await?;
        return http_exchange(tls, host, port, path, headers).await;
    }
    http_exchange(tcp, host, port, path, headers).await
}

/// A client configuration that accepts any server certificate (signatures are still checked).
fn insecure_tls() -> std::io::Result<std::sync::Arc<rustls::ClientConfig>> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(AnyServerCert(provider)))
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

#[derive(Debug)]
struct AnyServerCert(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn http_exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    port: u16,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<u16> {
    let host_header = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("user-agent")) {
        req.push_str("User-Agent: kube-probe/1.33\r\n");
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("accept")) {
        req.push_str("Accept: */*\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut buf = vec![0u8; 1024];
    let mut got = 0;
    while got < buf.len() {
        let n = stream.read(&mut buf[got..]).await?;
        if n == 0 {
            break;
        }
        got += n;
        if buf[..got].windows(2).any(|w| w == b"\r\n") {
            break;
        }
    }
    let line = String::from_utf8_lossy(&buf[..got]);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed HTTP response"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU16, Ordering};

    async fn server(code: Arc<AtomicU16>) -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let code = code.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 512];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes()).await;
                });
            }
        });
        port
    }

    fn container(probe: serde_json::Value) -> Container {
        serde_json::from_value(
            serde_json::json!({"name": "c", "readinessProbe": probe.clone(), "livenessProbe": probe}),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn http_readiness_and_liveness_follow_thresholds() {
        let code = Arc::new(AtomicU16::new(200));
        let port = server(Arc::clone(&code)).await;
        let rt: SharedRuntime = Arc::new(crate::runtime::fake::FakeRuntime::new(Default::default()));
        let c = container(
            serde_json::json!({"httpGet": {"port": port, "path": "/healthz"}, "periodSeconds": 1, "failureThreshold": 2}),
        );
        let mut prober = Prober::default();
        let mut failures = Vec::new();
        let long_ago = Instant::now() - Duration::from_secs(60);
        let (v, next) = prober.probe(&rt, &c, "id1", long_ago, "127.0.0.1", &mut failures).await;
        assert_eq!(v, Verdict { ready: true, started: true, kill: false });
        assert!(next.is_some());
        code.store(500, Ordering::SeqCst);
        // Force the next run now.
        for s in prober.containers.get_mut("c").unwrap().states.values_mut() {
            s.next_run = Instant::now();
        }
        let (v, _) = prober.probe(&rt, &c, "id1", long_ago, "127.0.0.1", &mut failures).await;
        assert!(v.ready && !v.kill, "one failure is below failureThreshold=2");
        assert!(failures[0].output.contains("statuscode: 500"), "{failures:?}");
        for s in prober.containers.get_mut("c").unwrap().states.values_mut() {
            s.next_run = Instant::now();
        }
        let (v, _) = prober.probe(&rt, &c, "id1", long_ago, "127.0.0.1", &mut failures).await;
        assert!(!v.ready && v.kill, "two failures: unready and to be restarted");
    }

    #[tokio::test]
    async fn startup_probe_gates_readiness_and_liveness() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let rt: SharedRuntime = Arc::new(crate::runtime::fake::FakeRuntime::new(Default::default()));
        let c: Container = serde_json::from_value(serde_json::json!({"name": "c",
            "startupProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1, "failureThreshold": 30},
            "livenessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1, "failureThreshold": 1}}))
        .unwrap();
        let mut prober = Prober::default();
        let mut failures = Vec::new();
        let long_ago = Instant::now() - Duration::from_secs(60);
        let (v, _) = prober.probe(&rt, &c, "id", long_ago, "127.0.0.1", &mut failures).await;
        assert_eq!(v, Verdict { ready: false, started: false, kill: false }, "liveness waits for startup");
        assert!(failures.iter().all(|f| f.kind == Kind::Startup), "{failures:?}");
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        for s in prober.containers.get_mut("c").unwrap().states.values_mut() {
            s.next_run = Instant::now();
        }
        let (v, _) = prober.probe(&rt, &c, "id", long_ago, "127.0.0.1", &mut failures).await;
        assert_eq!(v, Verdict { ready: true, started: true, kill: false }, "started; no readiness probe means ready");
        drop(l);
    }

    #[tokio::test]
    async fn https_probes_skip_certificate_verification() {
        let tls = rustkube_component_base::serving::self_signed_tls_config(&["example.invalid".to_owned()]).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut s) = acceptor.accept(s).await else { return };
                    let mut buf = [0u8; 512];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
                    let _ = s.shutdown().await;
                });
            }
        });
        assert_eq!(http_get("127.0.0.1", port, true, "/", &[]).await.unwrap(), 204);
    }

    #[tokio::test]
    async fn tcp_probe_and_initial_delay() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let rt: SharedRuntime = Arc::new(crate::runtime::fake::FakeRuntime::new(Default::default()));
        let c: Container = serde_json::from_value(serde_json::json!({"name": "c",
            "readinessProbe": {"tcpSocket": {"port": port}, "initialDelaySeconds": 30}}))
        .unwrap();
        let mut prober = Prober::default();
        let mut failures = Vec::new();
        let (v, next) = prober.probe(&rt, &c, "id", Instant::now(), "127.0.0.1", &mut failures).await;
        assert!(!v.ready, "not ready before the initial delay");
        assert!(next.unwrap() > Instant::now() + Duration::from_secs(20));
        let (v, _) =
            prober.probe(&rt, &c, "id2", Instant::now() - Duration::from_secs(31), "127.0.0.1", &mut failures).await;
        assert!(v.ready, "tcp connect succeeds");
        drop(l);
    }
}
