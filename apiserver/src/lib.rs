//! kube-apiserver: the Kubernetes REST API over rustkube-storage.
//!
//! The handler chain is authn (client certificates and service-account
//! bearer tokens, [`auth`]) → authz
//! ([`auth::authorize`]) → admission ([`admission`]) → the generic registry
//! store ([`resource_store`] with per-resource [`strategy`]).

pub mod admission;
pub mod allocator;
pub mod auth;
pub mod bootstrap;
pub mod conversion;
pub mod crd;
pub mod discovery;
pub mod field_validation;
pub mod handlers;
pub mod kubelet_client;
pub mod meta;
pub mod name_cache;
pub mod openapi;
pub mod options;
pub mod patching;
mod printers;
pub mod request;
pub mod resource_store;
pub mod reviews;
pub mod service_account_token;
pub mod state;
pub mod status;
pub mod strategy;
pub mod table;
pub mod token_request;
pub mod watch_cache;
pub mod watch_stream;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rustkube_component_base::serving;
use rustkube_storage::Store;

use crate::auth::User;
use crate::options::Options;
use crate::state::AppState;
use crate::status::ApiError;

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    rustkube_component_base::shutdown::signal().await
}

/// The first address of a CIDR plus one: the `kubernetes` Service IP.
pub fn first_service_ip(cidr: &str) -> anyhow::Result<IpAddr> {
    let (addr, bits) = cidr.split_once('/').with_context(|| format!("invalid --service-cluster-ip-range {cidr:?}"))?;
    let addr: IpAddr = addr.parse().with_context(|| format!("invalid --service-cluster-ip-range {cidr:?}"))?;
    let bits: u32 = bits.parse().with_context(|| format!("invalid --service-cluster-ip-range {cidr:?}"))?;
    match addr {
        IpAddr::V4(v4) if bits <= 30 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            Ok(IpAddr::V4(Ipv4Addr::from((u32::from(v4) & mask) + 1)))
        }
        IpAddr::V6(v6) if bits <= 126 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            Ok(IpAddr::V6(std::net::Ipv6Addr::from((u128::from(v6) & mask) + 1)))
        }
        _ => bail!("--service-cluster-ip-range {cidr:?} is too small"),
    }
}

async fn open_storage(options: &Options) -> anyhow::Result<Arc<dyn Store>> {
    if options.etcd_servers.is_empty() {
        let path = options.data_dir.join("state.db");
        let store = rustkube_storage::sqlite::SqliteStore::open(&path)
            .await
            .with_context(|| format!("opening embedded store {}", path.display()))?;
        tracing::info!(path = %path.display(), "using the embedded SQLite store");
        Ok(Arc::new(store))
    } else {
        // etcd may still be starting (as in a bootstrap): retry for a while, as upstream does.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut delay = std::time::Duration::from_millis(100);
        let store = loop {
            match rustkube_storage::etcd::EtcdStore::connect(&options.etcd_servers).await {
                Ok(store) => break store,
                Err(err) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %err, "etcd not reachable yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(2));
                }
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("connecting to etcd at {}", options.etcd_servers.join(",")));
                }
            }
        };
        tracing::info!(endpoints = %options.etcd_servers.join(","), "using etcd");
        Ok(Arc::new(store))
    }
}

/// Serving certificate, key and client CA: the operator's, or generated under DATA_DIR/pki.
struct Tls {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
    /// The generated kubelet-client certificate and key, when the PKI is ours.
    kubelet_client: Option<(PathBuf, PathBuf)>,
}

fn machine_hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty())
}

fn prepare_tls(options: &Options, service_ip: IpAddr, server_url: &str) -> anyhow::Result<Tls> {
    match (&options.tls_cert_file, &options.tls_private_key_file) {
        (Some(cert), Some(key)) => {
            return Ok(Tls {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: options.client_ca_file.clone(),
                kubelet_client: None,
            });
        }
        (Some(_), None) | (None, Some(_)) => bail!("--tls-cert-file and --tls-private-key-file must be given together"),
        (None, None) => {}
    }
    let mut ips = vec![service_ip];
    if let Some(a) = options.advertise_address {
        ips.push(a);
    }
    if !options.bind_address.is_unspecified() {
        ips.push(options.bind_address);
    }
    let hostnames: Vec<String> = machine_hostname().into_iter().collect();
    let pki = rustkube_pki::ensure_apiserver_pki(&rustkube_pki::ApiserverPkiRequest {
        dir: options.data_dir.clone(),
        hostnames,
        ips,
        server_url: server_url.to_owned(),
    })
    .context("preparing the generated PKI")?;
    Ok(Tls {
        cert: pki.serving_cert,
        key: pki.serving_key,
        client_ca: Some(options.client_ca_file.clone().unwrap_or(pki.ca_cert)),
        kubelet_client: Some((pki.kubelet_client_cert, pki.kubelet_client_key)),
    })
}

/// The client for kubelets: the operator's `--kubelet-client-*` files, else the generated ones.
fn kubelet_client(options: &Options, tls: &Tls) -> anyhow::Result<Option<kubelet_client::KubeletClient>> {
    let files = match (&options.kubelet_client_certificate, &options.kubelet_client_key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        (None, None) => tls.kubelet_client.clone(),
        _ => bail!("--kubelet-client-certificate and --kubelet-client-key must be given together"),
    };
    let Some((cert, key)) = files else {
        tracing::info!("no kubelet client certificate: logs, exec and port-forward are unavailable");
        return Ok(None);
    };
    let client = kubelet_client::KubeletClient::new(
        &cert,
        &key,
        options.kubelet_certificate_authority.as_deref(),
        options.kubelet_preferred_address_types.clone(),
    )
    .context("preparing the kubelet client")?;
    Ok(Some(client))
}

/// The service-account token issuer: `--service-account-signing-key-file` (verified by
/// `--service-account-key-file`), else the key pair under DATA_DIR/pki, generated when missing.
fn token_issuer(options: &Options) -> anyhow::Result<service_account_token::TokenIssuer> {
    let config = service_account_token::IssuerConfig {
        issuers: options.service_account_issuer.iter().filter(|i| !i.is_empty()).cloned().collect(),
        api_audiences: options.api_audiences.iter().filter(|a| !a.is_empty()).cloned().collect(),
        extend_expiration: options.service_account_extend_token_expiration,
    };
    if config.issuers.is_empty() {
        bail!("--service-account-issuer must not be empty");
    }
    let signing_key_file = match &options.service_account_signing_key_file {
        Some(file) => file.clone(),
        None => {
            let paths = rustkube_pki::ApiserverPki::in_dir(&options.data_dir);
            rustkube_pki::ensure_service_account_key(&paths.sa_private_key, &paths.sa_public_key)
                .context("preparing the service-account signing key")?;
            paths.sa_private_key
        }
    };
    let issuer =
        service_account_token::TokenIssuer::from_files(config, &signing_key_file, &options.service_account_key_file)?;
    tracing::info!(issuer = %issuer.issuer(), audiences = ?issuer.api_audiences(), "service-account tokens enabled");
    Ok(issuer)
}

/// Runs the apiserver until `shutdown` resolves.
pub async fn run(options: Options, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let admission = admission::Plugins::select(&options.enable_admission_plugins, &options.disable_admission_plugins)
        .map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating --data-dir {}", options.data_dir.display()))?;
    let service_ip = first_service_ip(&options.service_cluster_ip_range)?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(options.bind_address, options.secure_port))
        .await
        .with_context(|| format!("binding {}:{}", options.bind_address, options.secure_port))?;
    let local = listener.local_addr()?;
    let advertise_ip = options.advertise_address.unwrap_or(if options.bind_address.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        options.bind_address
    });
    let advertise = SocketAddr::new(advertise_ip, local.port()).to_string();
    let server_url = format!("https://{advertise}");
    let tls = prepare_tls(&options, service_ip, &server_url)?;
    let tls_config = serving::tls_config(&tls.cert, &tls.key, tls.client_ca.as_deref())?;

    let storage = open_storage(&options).await?;
    let compactor = rustkube_storage::Compactor::spawn(Arc::clone(&storage), options.etcd_compaction_interval);
    let watch_cache = watch_cache::WatchCache::new(Arc::clone(&storage));
    let allocator = allocator::Allocator::new(
        Arc::clone(&storage),
        &options.service_cluster_ip_range,
        &options.service_node_port_range,
    )
    .map_err(|e| anyhow::anyhow!("invalid service ranges: {e}"))?;
    let namespaces =
        name_cache::NameCache::spawn(Arc::clone(&storage), "/registry/namespaces/", name_cache::namespace_terminating);
    let priority_classes =
        name_cache::NameCache::spawn(Arc::clone(&storage), "/registry/priorityclasses/", name_cache::priority_class);
    let store = resource_store::ResourceStore::new(storage);
    let custom = crd::CustomResources::spawn(store.clone());
    let mut claims = allocator::Claims::default();
    if let Err(e) = allocator.allocate_ip(Some(service_ip), "default/kubernetes", &mut claims).await {
        tracing::debug!(error = %e.message, "kubernetes service IP already claimed");
    }
    bootstrap::run(&store, service_ip, advertise_ip, local.port()).await?;
    let kubelet = kubelet_client(&options, &tls)?;
    let tokens = Some(token_issuer(&options)?);
    let state = Arc::new(AppState {
        store,
        watch_cache,
        allocator,
        advertise,
        kubelet,
        namespaces,
        priority_classes,
        custom,
        tokens,
        admission,
    });
    let app = router(Arc::clone(&state));
    tracing::info!(address = %local, url = %server_url, "listening on {local}");
    let identify = |cert: Option<&rustls::pki_types::CertificateDer<'static>>| {
        cert.and_then(|c| auth::user_from_certificate(c)).unwrap_or_else(User::anonymous)
    };
    serving::serve(listener, tls_config, app, identify, shutdown).await?;
    compactor.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// All routes: health, discovery, version, then every resource path.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/livez", get(health))
        .route("/readyz", get(health))
        .route("/version", get(|| async { handlers::json_response(StatusCode::OK, &discovery::version()) }))
        .route("/metrics", get(metrics))
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(openapi_v3_index))
        .route("/openapi/v3/{*path}", get(openapi_v3))
        .fallback(api)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), auth::authenticate_bearer))
        .with_state(state)
}

async fn health(req: Request<Body>) -> Response {
    let verbose = req.uri().query().is_some_and(|q| q.split('&').any(|p| p == "verbose" || p.starts_with("verbose=")));
    let body = if verbose {
        format!("[+]ping ok\n[+]etcd ok\n{} check passed\n", req.uri().path().trim_start_matches('/'))
    } else {
        "ok".to_owned()
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The OpenAPI documents are built on first request (0.1-0.2 s of CPU, a few
/// MiB kept), off the async workers, so an idle server does not pay for them.
async fn openapi_v2(headers: HeaderMap) -> Response {
    let protobuf = accept_header(&headers).contains("com.github.proto-openapi.spec.v2");
    let doc =
        tokio::task::spawn_blocking(move || if protobuf { openapi::v2_protobuf() } else { openapi::v2_json() }).await;
    match (doc, protobuf) {
        (Ok(doc), true) => {
            let ct = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
            (StatusCode::OK, [(header::CONTENT_TYPE, ct)], doc).into_response()
        }
        (Ok(doc), false) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], doc).into_response(),
        (Err(e), _) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// The OpenAPI 3 documents of the custom group-versions (only `only`'s when
/// given), keyed `apis/<group>/<version>`.
fn custom_openapi_documents(catalog: &crd::Catalog, only: Option<(&str, &str)>) -> Vec<(String, Box<[u8]>)> {
    let wanted = |g: &str, v: &str| only.is_none_or(|(og, ov)| og == g && ov == v);
    let group_versions: Vec<(&str, &str)> = catalog
        .groups()
        .iter()
        .flat_map(|g| g.versions.iter().map(move |v| (g.name, *v)))
        .filter(|(g, v)| wanted(g, v))
        .collect();
    if group_versions.is_empty() {
        return Vec::new();
    }
    let core = openapi::core_definitions();
    group_versions
        .into_iter()
        .map(|(g, v)| {
            let resources: Vec<(&rustkube_api::registry::ResourceInfo, Option<&serde_json::Value>)> =
                catalog.resources_in(g, v).filter_map(|r| catalog.of(r).map(|c| (r, c.schema.as_ref()))).collect();
            (format!("apis/{g}/{v}"), openapi::v3_custom_json(g, v, &resources, &core))
        })
        .collect()
}

async fn openapi_v3_index(State(state): State<Arc<AppState>>) -> Response {
    let catalog = state.custom.snapshot();
    let index = tokio::task::spawn_blocking(move || {
        let mut index = openapi::v3_index();
        for (path, doc) in custom_openapi_documents(&catalog, None) {
            let url = format!("/openapi/v3/{path}?hash={}", openapi::document_hash(&doc));
            index["paths"][path] = serde_json::json!({ "serverRelativeURL": url });
        }
        index
    })
    .await;
    match index {
        Ok(index) => handlers::json_response(StatusCode::OK, &index),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

async fn openapi_v3(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> Response {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version) = match segs.as_slice() {
        ["api", version] => ("", *version),
        ["apis", group, version] => (*group, *version),
        _ => return ApiError::path_not_found().into_response(),
    };
    if openapi::v3_group_version_json(group, version).is_none() {
        let (group, version) = (group.to_owned(), version.to_owned());
        let catalog = state.custom.snapshot();
        let doc = tokio::task::spawn_blocking(move || {
            custom_openapi_documents(&catalog, Some((&group, &version))).into_iter().next().map(|(_, d)| d)
        })
        .await;
        return match doc {
            Ok(Some(doc)) => {
                let etag = format!("\"{}\"", openapi::document_hash(&doc));
                let mut resp =
                    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], doc.into_vec()).into_response();
                if let Ok(v) = axum::http::HeaderValue::from_str(&etag) {
                    resp.headers_mut().insert(header::ETAG, v);
                }
                resp
            }
            Ok(None) => ApiError::path_not_found().into_response(),
            Err(e) => ApiError::internal(e.to_string()).into_response(),
        };
    }
    match openapi::v3_group_version_json(group, version) {
        Some(doc) => {
            let etag = format!("\"{}\"", openapi::v3_hash(group, version));
            let mut resp = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], doc).into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(&etag) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            resp
        }
        None => ApiError::path_not_found().into_response(),
    }
}

async fn metrics() -> Response {
    let body = "# HELP apiserver_up Whether the apiserver is serving.\n# TYPE apiserver_up gauge\napiserver_up 1\n";
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

fn accept_header(headers: &HeaderMap) -> &str {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn api(State(state): State<Arc<AppState>>, headers: HeaderMap, req: Request<Body>) -> Response {
    let user = req.extensions().get::<User>().cloned().unwrap_or_else(User::anonymous);
    let path = req.uri().path().to_owned();
    tracing::debug!(
        method = %req.method(),
        path = %path,
        query = req.uri().query().unwrap_or(""),
        content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or(""),
        accept = accept_header(&headers),
        user = %user.name,
        "request"
    );
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let is_get = req.method() == axum::http::Method::GET;
    if user.is_anonymous() && !matches!(path.as_str(), "/api" | "/apis") {
        return ApiError::unauthorized().into_response();
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let custom = state.custom.snapshot();
    match (is_get, segs.as_slice()) {
        (true, ["api"]) => return discovery::api(accept, &state.advertise),
        (true, ["apis"]) => return discovery::apis(accept, &custom),
        (true, ["api", version]) => {
            return match discovery::resource_list("", version, &custom) {
                Ok(v) => handlers::json_response(StatusCode::OK, &v),
                Err(e) => e.into_response(),
            };
        }
        (true, ["apis", group]) => {
            return match discovery::group(group, &custom) {
                Ok(v) => handlers::json_response(StatusCode::OK, &v),
                Err(e) => e.into_response(),
            };
        }
        (true, ["apis", group, version]) => {
            return match discovery::resource_list(group, version, &custom) {
                Ok(v) => handlers::json_response(StatusCode::OK, &v),
                Err(e) => e.into_response(),
            };
        }
        _ => {}
    }
    match handlers::classify(req.method(), &path, req.uri().query(), &custom) {
        Ok(Some(info)) => {
            // A bug must cost one request a 500, never the connection or the process.
            use futures_util::FutureExt;
            match std::panic::AssertUnwindSafe(handlers::handle(state, info, user, req)).catch_unwind().await {
                Ok(resp) => resp,
                Err(_) => {
                    tracing::error!(path = %path, "request handler panicked");
                    ApiError::internal("the server hit an unexpected condition handling this request").into_response()
                }
            }
        }
        Ok(None) => ApiError::path_not_found().into_response(),
        Err(e) => e.into_response(),
    }
}
