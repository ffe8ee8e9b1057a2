//! `/healthz`, `/livez`, `/readyz` with named checks (`?verbose`, `?exclude=`,
//! `/healthz/<check>`) and Prometheus `/metrics`, answered as upstream's
//! `k8s.io/apiserver/pkg/server/healthz` does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;

/// One named check: `Ok` when healthy, else why not.
pub type Check = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The named checks of a daemon; `ping` is always present.
#[derive(Clone)]
pub struct Health {
    checks: Arc<RwLock<BTreeMap<String, Check>>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.checks.read().map(|c| c.keys().cloned().collect()).unwrap_or_default();
        f.debug_struct("Health").field("checks", &names).finish()
    }
}

impl Default for Health {
    fn default() -> Self {
        let health = Health { checks: Arc::new(RwLock::new(BTreeMap::new())) };
        health.add("ping", Arc::new(|| Ok(())));
        health
    }
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a named check.
    pub fn add(&self, name: &str, check: Check) {
        if let Ok(mut checks) = self.checks.write() {
            checks.insert(name.to_owned(), check);
        }
    }

    /// Runs every check: `(name, result)` in name order.
    pub fn run(&self) -> Vec<(String, Result<(), String>)> {
        let checks: Vec<(String, Check)> =
            self.checks.read().map(|c| c.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect()).unwrap_or_default();
        checks.into_iter().map(|(name, check)| (name, check())).collect()
    }

    fn answer(&self, endpoint: &str, query: Option<&str>) -> Response {
        let mut verbose = false;
        let mut excluded = Vec::new();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*k {
                "verbose" => verbose = v != "false",
                "exclude" => excluded.push(v.into_owned()),
                _ => {}
            }
        }
        let mut body = String::new();
        let mut failed = false;
        for (name, result) in self.run() {
            if excluded.contains(&name) {
                body.push_str(&format!("[+]{name} excluded: ok\n"));
                continue;
            }
            match result {
                Ok(()) => body.push_str(&format!("[+]{name} ok\n")),
                Err(reason) => {
                    failed = true;
                    tracing::info!(endpoint, check = %name, %reason, "health check failed");
                    body.push_str(&format!("[-]{name} failed: reason withheld\n"));
                }
            }
        }
        if failed {
            body.push_str(&format!("{endpoint} check failed\n"));
            return (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
                .into_response();
        }
        let body = if verbose { format!("{body}{endpoint} check passed\n") } else { "ok".to_owned() };
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
    }

    fn answer_one(&self, name: &str) -> Response {
        let check = self.checks.read().ok().and_then(|c| c.get(name).cloned());
        match check.map(|c| c()) {
            Some(Ok(())) => (StatusCode::OK, "ok").into_response(),
            Some(Err(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, format!("internal server error: {name} check failed\n"))
                    .into_response()
            }
            None => (StatusCode::NOT_FOUND, "404 page not found\n").into_response(),
        }
    }
}

/// A daemon's Prometheus registry; metrics may be registered at any time.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a metric under `name` (without the `_total` suffix counters get).
    pub fn register(&self, name: &str, help: &str, metric: impl prometheus_client::registry::Metric) {
        if let Ok(mut registry) = self.registry.lock() {
            registry.register(name, help, metric);
        }
    }

    /// The text exposition of every registered metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}

#[derive(Clone)]
struct Endpoints {
    health: Health,
    metrics: Metrics,
}

/// The router every daemon serves on its secure port: health endpoints and metrics.
pub fn router(health: Health, metrics: Metrics) -> Router {
    let endpoints = Endpoints { health, metrics };
    let mut router = Router::new();
    for endpoint in ["healthz", "livez", "readyz"] {
        router = router
            .route(
                &format!("/{endpoint}"),
                get(move |State(e): State<Endpoints>, RawQuery(q): RawQuery| async move {
                    e.health.answer(endpoint, q.as_deref())
                }),
            )
            .route(
                &format!("/{endpoint}/{{check}}"),
                get(|State(e): State<Endpoints>, Path(check): Path<String>| async move { e.health.answer_one(&check) }),
            );
    }
    router
        .route(
            "/metrics",
            get(|State(e): State<Endpoints>| async move {
                (
                    [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    e.metrics.encode(),
                )
            }),
        )
        .with_state(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_check_names_itself_and_fails_the_endpoint() {
        let health = Health::new();
        health.add("leaderElection", Arc::new(|| Err("lease expired".into())));
        let results = health.run();
        assert_eq!(results.len(), 2, "ping and leaderElection expected: {results:?}");
        let resp = health.answer("healthz", Some("verbose"));
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let resp = health.answer("healthz", Some("exclude=leaderElection"));
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(health.answer_one("ping").status(), StatusCode::OK);
        assert_eq!(health.answer_one("nope").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn metrics_encode_registered_counters() {
        let metrics = Metrics::new();
        let c: prometheus_client::metrics::counter::Counter = Default::default();
        c.inc();
        metrics.register("scheduler_schedule_attempts", "attempts", c);
        let text = metrics.encode();
        assert!(text.contains("scheduler_schedule_attempts_total 1"), "{text}");
    }
}
