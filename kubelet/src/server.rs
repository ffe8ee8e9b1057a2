//! The kubelet's endpoints: the HTTPS kubelet API (`/healthz`, `/pods`,
//! `/containerLogs/<ns>/<pod>/<container>`, `/exec`, `/attach`,
//! `/portForward`, `/stats/summary`, `/metrics`, `/metrics/resource`) on `--port` and the
//! plain-HTTP `/healthz` on `--healthz-port`. Requests to the kubelet API are
//! authenticated by client certificate or (`--authentication-token-webhook`) bearer
//! token, and authorized (`--authorization-mode=Webhook`) by the apiserver, as
//! upstream; the defaults (`--anonymous-auth=true`, `--authorization-mode=AlwaysAllow`)
//! let every request through.

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::List;
use k8s_openapi::api::core::v1::Pod;
use rustkube_component_base::health::{Health, Metrics};

use crate::logs;
use crate::pod_workers::Workers;
use crate::runtime::SharedRuntime;
use crate::spec::{self, PodKey};
use crate::stats;
use crate::streaming::{self, PathParams, Refusal, Session};

#[derive(Debug, Clone)]
struct ApiState {
    workers: Workers,
    root_dir: PathBuf,
    runtime: SharedRuntime,
    node_name: String,
    cpu: std::sync::Arc<stats::CpuSampler>,
}

/// The kubelet API's router.
pub fn api_router(
    health: Health,
    metrics: Metrics,
    workers: Workers,
    runtime: SharedRuntime,
    root_dir: PathBuf,
    node_name: String,
) -> Router {
    let api = Router::new()
        .route("/pods", get(list_pods))
        .route("/containerLogs/{namespace}/{pod}/{container}", get(container_logs))
        .route("/exec/{namespace}/{pod}/{container}", get(exec).post(exec))
        .route("/exec/{namespace}/{pod}/{uid}/{container}", get(exec).post(exec))
        .route("/attach/{namespace}/{pod}/{container}", get(attach).post(attach))
        .route("/attach/{namespace}/{pod}/{uid}/{container}", get(attach).post(attach))
        .route("/portForward/{namespace}/{pod}", get(port_forward).post(port_forward))
        .route("/portForward/{namespace}/{pod}/{uid}", get(port_forward).post(port_forward))
        .route("/stats/summary", get(stats_summary))
        .route("/metrics/resource", get(resource_metrics))
        .with_state(ApiState { workers, root_dir, runtime, node_name, cpu: Default::default() });
    rustkube_component_base::health::router(health, metrics).merge(api)
}

/// `/stats/summary`: node and pod usage (upstream's `stats/v1alpha1` Summary).
async fn stats_summary(State(state): State<ApiState>) -> Response {
    let usage = gather_usage(&state).await;
    ([(header::CONTENT_TYPE, "application/json")], usage.summary().to_string()).into_response()
}

/// `/metrics/resource`: node, pod and container usage as upstream's resource
/// metrics (what metrics-server scrapes).
async fn resource_metrics(State(state): State<ApiState>) -> Response {
    let usage = gather_usage(&state).await;
    ([(header::CONTENT_TYPE, stats::RESOURCE_METRICS_CONTENT_TYPE)], usage.resource_metrics()).into_response()
}

async fn gather_usage(state: &ApiState) -> stats::Usage {
    stats::gather(&state.node_name, &state.root_dir, &state.runtime, &state.workers, &state.cpu).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamKind {
    Exec,
    Attach,
    PortForward,
}

/// `/exec/<ns>/<pod>[/<uid>]/<container>?command=…&input=1&output=1&error=1&tty=1`.
async fn exec(state: State<ApiState>, path: Path<PathParams>, query: RawQuery, req: Request) -> Response {
    stream(StreamKind::Exec, state, path, query, req).await
}

/// `/attach/<ns>/<pod>[/<uid>]/<container>?input=1&output=1&error=1&tty=1`.
async fn attach(state: State<ApiState>, path: Path<PathParams>, query: RawQuery, req: Request) -> Response {
    stream(StreamKind::Attach, state, path, query, req).await
}

/// `/portForward/<ns>/<pod>[/<uid>]?port=…`.
async fn port_forward(state: State<ApiState>, path: Path<PathParams>, query: RawQuery, req: Request) -> Response {
    stream(StreamKind::PortForward, state, path, query, req).await
}

/// Finds the pod and its container or sandbox, asks the runtime for a
/// streaming URL and proxies the upgrade there (upstream's `getExec`,
/// `getAttach`, `getPortForward` and `proxyStream`).
async fn stream(
    kind: StreamKind,
    State(state): State<ApiState>,
    Path(path): Path<PathParams>,
    RawQuery(query): RawQuery,
    req: Request,
) -> Response {
    let get = |k: &str| path.get(k).map(String::as_str).unwrap_or_default();
    let (namespace, name) = (get("namespace"), get("pod"));
    let mut params = match streaming::Params::parse(query.as_deref()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    if kind != StreamKind::PortForward
        && let Err(r) = params.check_streams()
    {
        return r.into_response();
    }
    let Some(pod) = find_pod(&state.workers, namespace, name) else {
        return streaming::status_response(StatusCode::NOT_FOUND, "pod does not exist");
    };
    let key = PodKey::of(&pod);
    let requested_uid = get("uid");
    let session = async {
        if !requested_uid.is_empty() && requested_uid != key.uid {
            return Err(Refusal {
                code: StatusCode::NOT_FOUND,
                message: format!("pod not found ({:?})", key.full_name()),
            });
        }
        Ok(match kind {
            StreamKind::Exec => Session::Exec {
                container_id: streaming::running_container(&state.runtime, &key.uid, get("container")).await?,
            },
            StreamKind::Attach => Session::Attach {
                container_id: streaming::running_container(&state.runtime, &key.uid, get("container")).await?,
            },
            StreamKind::PortForward => Session::PortForward {
                sandbox_id: streaming::ready_sandbox(&state.runtime, &key.uid, &key.full_name()).await?,
            },
        })
    };
    let url = match session.await {
        Ok(session) => streaming::url(&state.runtime, &session, &params).await,
        Err(r) => Err(r),
    };
    match url {
        Ok(url) => {
            tracing::debug!(pod = %key.full_name(), ?kind, %url, "proxying a stream to the runtime");
            streaming::proxy(&url, req).await
        }
        Err(r) => {
            tracing::info!(pod = %key.full_name(), ?kind, error = %r.message, "refusing a stream");
            r.into_response()
        }
    }
}

/// `/pods`: the pods this kubelet runs, as a `PodList`.
async fn list_pods(State(state): State<ApiState>) -> impl IntoResponse {
    let mut items: Vec<Pod> = state.workers.pods();
    items.sort_by(|a, b| (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name)));
    let list = List::<Pod> { items, metadata: Default::default() };
    ([(header::CONTENT_TYPE, "application/json")], serde_json::to_string(&list).unwrap_or_else(|_| "{}".into()))
}

pub(crate) fn text(code: StatusCode, body: String) -> Response {
    (code, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn find_pod(workers: &Workers, namespace: &str, name: &str) -> Option<Pod> {
    workers
        .pods()
        .into_iter()
        .find(|p| p.metadata.namespace.as_deref() == Some(namespace) && p.metadata.name.as_deref() == Some(name))
}

/// `/containerLogs/<ns>/<pod>/<container>`.
async fn container_logs(
    State(state): State<ApiState>,
    Path((namespace, name, container)): Path<(String, String, String)>,
    Query(opts): Query<logs::Options>,
) -> Response {
    let Some(pod) = find_pod(&state.workers, &namespace, &name) else {
        return text(StatusCode::NOT_FOUND, format!("pod \"{name}\" not found"));
    };
    let spec = pod.spec.clone().unwrap_or_default();
    if !spec.containers.iter().chain(spec.init_containers.iter().flatten()).any(|c| c.name == container) {
        return text(StatusCode::NOT_FOUND, format!("container \"{container}\" in pod \"{name}\" is not available"));
    }
    let key = PodKey::of(&pod);
    let dir = spec::log_directory(&state.root_dir, &key).join(&container);
    let Some(file) = logs::log_file(&dir, opts.previous) else {
        let what = if opts.previous { "previous terminated container" } else { "container" };
        return text(StatusCode::BAD_REQUEST, format!("{what} \"{container}\" in pod \"{name}\" not found"));
    };
    let content = tokio::fs::read_to_string(&file).await.unwrap_or_default();
    let first = logs::render(&content, &opts);
    if !opts.follow || opts.previous {
        return text(StatusCode::OK, first);
    }
    // Follow: poll the file for growth until a newer attempt starts, the pod
    // leaves this node, or the client goes away.
    let offset = content.len();
    let follow_opts = logs::Options { tail_lines: None, limit_bytes: None, since_seconds: None, ..opts };
    let workers = state.workers.clone();
    let stream = futures_util::stream::unfold(
        (Some(first), offset, file, dir, workers, namespace, name, follow_opts),
        |(first, offset, file, dir, workers, namespace, name, opts)| async move {
            if let Some(first) = first {
                return Some((
                    Ok::<_, std::io::Error>(Bytes::from(first)),
                    (None, offset, file, dir, workers, namespace, name, opts),
                ));
            }
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let content = tokio::fs::read_to_string(&file).await.unwrap_or_default();
                if content.len() > offset {
                    // Only whole lines; a torn last line waits for the next poll.
                    let new = &content[offset..];
                    let upto = new.rfind('\n').map(|i| i + 1).unwrap_or(0);
                    if upto > 0 {
                        let chunk = logs::render(&new[..upto], &opts);
                        let next = offset + upto;
                        return Some((Ok(Bytes::from(chunk)), (None, next, file, dir, workers, namespace, name, opts)));
                    }
                }
                let newer = logs::log_file(&dir, false).is_some_and(|f| f != file);
                if newer || find_pod(&workers, &namespace, &name).is_none() {
                    return None;
                }
            }
        },
    );
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The kubelet API's TLS: `--tls-cert-file`/`--tls-private-key-file`, else a
/// self-signed pair kept under `<root-dir>/pki` (as upstream's `kubelet.crt`);
/// client certificates verified against `--client-ca-file` when given.
pub fn tls_config(config: &crate::options::Config) -> anyhow::Result<rustls::ServerConfig> {
    let (cert, key) = match (&config.tls_cert_file, &config.tls_private_key_file) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => {
            let dir = config.root_dir.join("pki");
            let (cert, key) = (dir.join("kubelet.crt"), dir.join("kubelet.key"));
            if !cert.exists() || !key.exists() {
                std::fs::create_dir_all(&dir)?;
                let mut hosts = vec![config.node_name.clone(), "localhost".to_owned(), "127.0.0.1".to_owned()];
                if let Some(ip) = config.node_ip {
                    hosts.push(ip.to_string());
                }
                let made = rcgen::generate_simple_self_signed(hosts)?;
                std::fs::write(&cert, made.cert.pem())?;
                std::fs::write(&key, made.signing_key.serialize_pem())?;
                std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            }
            (cert, key)
        }
    };
    rustkube_component_base::serving::tls_config(&cert, &key, config.client_ca_file.as_deref())
}

/// The plain-HTTP healthz router.
pub fn healthz_router(health: Health) -> Router {
    rustkube_component_base::health::router(health, Metrics::new())
}
