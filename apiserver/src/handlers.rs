//! The resource endpoints: request → authn/authz/admission → generic store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use rustkube_api::field_selector::{self, FieldSelector};
use rustkube_api::label_selector::LabelSelector;
use rustkube_storage::{ContinueToken, ListOptions};
use serde_json::{Value, json};

use crate::auth::User;
use crate::meta;
use crate::request::{self, RequestInfo, Verb};
use crate::resource_store::{DeleteOptions, Deleted, Target, parse_rv};
use crate::state::AppState;
use crate::status::{self, ApiError};
use crate::table::{self, Rendering};

/// Largest request body accepted (upstream: 3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub fn json_response(code: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = (code, bytes).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    resp
}

/// The query string as a map (the last of repeated keys wins).
pub fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}

/// The query string keeping every value of repeated keys (`command=a&command=b`).
pub fn parse_query_multi(query: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned() {
        out.entry(k).or_default().push(v);
    }
    out
}

/// Reads the request body, refusing more than [`MAX_BODY_BYTES`] with 413.
async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading request body: {e}")))?;
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::too_large("Request entity too large: limit is 3145728"));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// How a create/update body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFormat {
    Json,
    Protobuf,
}

/// JSON or Kubernetes protobuf; anything else (CBOR, YAML) is a 415.
fn body_format(headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.is_empty() || media == "application/json" || media == "*/*" {
        return Ok(BodyFormat::Json);
    }
    if rustkube_protobuf::is_protobuf_media_type(media) {
        return Ok(BodyFormat::Protobuf);
    }
    Err(ApiError::unsupported_media_type(format!(
        "the body of the request was in an unknown format - accepted media types include: application/json, \
         application/vnd.kubernetes.protobuf (got {media})"
    )))
}

/// `metadata`, `spec` and `status` must be objects (as the typed decoding upstream requires).
fn check_top_level_shape(v: &Value) -> Result<(), ApiError> {
    for field in ["metadata", "spec", "status"] {
        match v.get(field) {
            None | Some(Value::Null) | Some(Value::Object(_)) => {}
            Some(other) => {
                let kind = match other {
                    Value::Bool(_) => "bool",
                    Value::Number(_) => "number",
                    Value::String(_) => "string",
                    _ => "array",
                };
                return Err(ApiError::bad_request(format!(
                    "json: cannot unmarshal {kind} into Go struct field .{field}"
                )));
            }
        }
    }
    Ok(())
}

/// Decodes a create/update body in its declared format.
fn decode_body(format: BodyFormat, body: &[u8]) -> Result<Value, ApiError> {
    match format {
        BodyFormat::Json => decode_object(body),
        BodyFormat::Protobuf => rustkube_protobuf::decode(body)
            .map_err(|e| ApiError::bad_request(format!("the object provided is unrecognized (protobuf): {e}"))),
    }
}

fn decode_object(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the object provided is unrecognized (must be JSON): {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request("the object provided is not a JSON object"));
    }
    check_top_level_shape(&v)?;
    Ok(v)
}

fn dry_run(q: &HashMap<String, String>) -> Result<bool, ApiError> {
    match q.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => {
            Err(ApiError::bad_request(format!("Invalid dryRun value: {other:?}: supported values: \"All\"")))
        }
    }
}

/// Entry point for `/api/...` and `/apis/...` resource paths.
pub async fn handle(state: Arc<AppState>, info: RequestInfo, user: User, req: Request<Body>) -> Response {
    if is_connect(&info) {
        return connect(&state, &info, &user, req).await.unwrap_or_else(IntoResponse::into_response);
    }
    let query = parse_query(req.uri().query());
    let headers = req.headers().clone();
    let result = dispatch(&state, &info, &user, &query, &headers, req.into_body()).await;
    match result {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    }
}

/// Subresources answered by the node's kubelet.
fn is_connect(info: &RequestInfo) -> bool {
    matches!(
        (info.resource.group, info.resource.plural, info.subresource.as_deref()),
        ("", "pods", Some("log" | "exec" | "attach" | "portforward")) | ("", "nodes", Some("proxy"))
    )
}

async fn connect(state: &AppState, info: &RequestInfo, user: &User, req: Request<Body>) -> Result<Response, ApiError> {
    crate::auth::authorize(user, info)?;
    let allowed = match info.subresource.as_deref() {
        Some("log") => req.method() == Method::GET,
        Some("exec" | "attach" | "portforward") => matches!(*req.method(), Method::GET | Method::POST),
        _ => true,
    };
    if !allowed {
        return Err(ApiError::method_not_allowed());
    }
    let Some(kubelet) = &state.kubelet else {
        return Err(ApiError::unavailable("this apiserver has no kubelet client configured"));
    };
    let query = parse_query_multi(req.uri().query());
    kubelet.connect(&state.store, info, &query, req).await
}

async fn dispatch(
    state: &AppState,
    info: &RequestInfo,
    user: &User,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    crate::auth::authorize(user, info)?;
    if !info.resource.supports(info.verb.as_str()) && info.subresource.is_none() {
        return Err(ApiError::method_not_allowed());
    }
    let t = Target { resource: info.resource, namespace: info.namespace.as_deref() };
    let rendering = table::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let store = &state.store;
    match info.verb {
        Verb::Get => {
            let name = info.name.as_deref().unwrap_or_default();
            let obj = store.get(t, name).await?;
            let obj = subresource_view(info, obj)?;
            Ok(render_one(info, obj, rendering, query))
        }
        Verb::List => list(state, info, t, query, rendering).await,
        Verb::Watch => watch(state, info, t, query, rendering).await,
        Verb::Create => {
            let format = body_format(headers)?;
            let body = read_body(body).await?;
            let mut obj = decode_body(format, &body)?;
            check_type(info, &obj)?;
            if info.subresource.is_some() {
                return create_subresource(state, info, t, obj).await;
            }
            if info.resource.group == "authentication.k8s.io" && info.resource.plural == "selfsubjectreviews" {
                return Ok(json_response(StatusCode::CREATED, &crate::auth::self_subject_review(user)));
            }
            if let Some(review) = crate::reviews::create(state, info, &obj).await? {
                return Ok(json_response(StatusCode::CREATED, &review));
            }
            if info.custom.as_ref().is_some_and(|c| c.terminating) {
                return Err(ApiError::method_not_allowed_because(
                    "create not allowed while custom resource definition is terminating",
                ));
            }
            let warnings = unknown_field_check(info, query, &mut obj)?;
            if info.resource.namespaced {
                let ns = info.namespace.as_deref().ok_or_else(|| ApiError::bad_request("a namespace is required"))?;
                match meta::meta_str(&obj, "namespace") {
                    Some(body_ns) if !body_ns.is_empty() && body_ns != ns => {
                        return Err(ApiError::bad_request(
                            "the namespace of the provided object does not match the namespace sent on the request",
                        ));
                    }
                    _ => {
                        meta::meta_mut(&mut obj).insert("namespace".into(), json!(ns));
                    }
                }
                crate::admission::namespace_lifecycle(state, ns, meta::name(&obj), info).await?;
            } else {
                meta::meta_mut(&mut obj).remove("namespace");
            }
            crate::admission::admit_create(state, info, &mut obj)?;
            crate::admission::service_account(state, info, &mut obj).await?;
            crate::admission::priority(state, info, &mut obj).await?;
            let dry = dry_run(query)?;
            let is_service = info.resource.group.is_empty() && info.resource.plural == "services";
            let mut claims = crate::allocator::Claims::default();
            if is_service && let Err(e) = state.allocator.assign(&mut obj, &mut claims).await {
                state.allocator.release(claims).await;
                return Err(e);
            }
            let result = store.create(t, obj, dry).await;
            if is_service && (dry || result.is_err()) {
                state.allocator.release(claims).await;
            }
            let created = result?;
            custom_catalog_catch_up(state, info, &created).await;
            Ok(with_warnings(json_response(StatusCode::CREATED, &created), &warnings))
        }
        Verb::Update => {
            let name = info.name.clone().unwrap_or_default();
            let format = body_format(headers)?;
            let body = read_body(body).await?;
            let mut obj = decode_body(format, &body)?;
            check_type(info, &obj)?;
            let warnings = unknown_field_check(info, query, &mut obj)?;
            if info.subresource.as_deref() == Some("scale") {
                return update_scale(state, info, t, &name, obj, dry_run(query)?).await;
            }
            if let Some(ns) = &info.namespace
                && let Some(body_ns) = meta::meta_str(&obj, "namespace").filter(|n| !n.is_empty())
                && body_ns != ns
            {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            let sub = info.subresource.clone();
            let state_ref = state;
            let before = service_before(state, info, t, &name).await;
            let result = store
                .update_with(t, &name, sub.as_deref(), dry_run(query)?, |old| {
                    let mut new = obj.clone();
                    if let Some(ns) = meta::meta_str(old, "namespace") {
                        meta::meta_mut(&mut new).insert("namespace".into(), json!(ns));
                    }
                    crate::admission::admit_update(state_ref, info, &mut new, old)?;
                    Ok(new)
                })
                .await;
            match result {
                Ok(obj) => {
                    let obj = reconcile_service(state, t, &name, before, obj, dry_run(query)?).await?;
                    custom_catalog_catch_up(state, info, &obj).await;
                    Ok(with_warnings(json_response(StatusCode::OK, &obj), &warnings))
                }
                Err(e) if e.code == 404 && crate::admission::allow_create_on_update(info) => {
                    let mut obj = obj;
                    meta::meta_mut(&mut obj).remove("resourceVersion");
                    if let Some(ns) = &info.namespace {
                        meta::meta_mut(&mut obj).insert("namespace".into(), json!(ns));
                    }
                    crate::admission::admit_create(state, info, &mut obj)?;
                    let created = store.create(t, obj, dry_run(query)?).await?;
                    Ok(json_response(StatusCode::CREATED, &created))
                }
                Err(e) => Err(e),
            }
        }
        Verb::Patch => {
            let name = info.name.clone().unwrap_or_default();
            let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            let patch_type = crate::patching::patch_type(content_type)?;
            if info.custom.is_some() && patch_type == rustkube_patch::PatchType::StrategicMerge {
                return Err(ApiError::unsupported_media_type(
                    "the body of the request was in an unknown format - accepted media types include: \
                     application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                ));
            }
            let body = read_body(body).await?;
            let sub = info.subresource.clone();
            if sub.as_deref() == Some("scale") {
                let current = scale_of(info, &store.get(t, &name).await?)?;
                let patched = crate::patching::apply(patch_type, info, &current, &body)?;
                return update_scale(state, info, t, &name, patched, dry_run(query)?).await;
            }
            let state_ref = state;
            let before = service_before(state, info, t, &name).await;
            let mut warnings = Vec::new();
            let obj = store
                .update_with(t, &name, sub.as_deref(), dry_run(query)?, |old| {
                    let mut new = crate::patching::apply(patch_type, info, old, &body)?;
                    warnings = unknown_field_check(info, query, &mut new)?;
                    crate::admission::admit_update(state_ref, info, &mut new, old)?;
                    Ok(new)
                })
                .await?;
            let obj = reconcile_service(state, t, &name, before, obj, dry_run(query)?).await?;
            custom_catalog_catch_up(state, info, &obj).await;
            Ok(with_warnings(json_response(StatusCode::OK, &obj), &warnings))
        }
        Verb::Delete => {
            let name = info.name.clone().unwrap_or_default();
            let body = read_body(body).await?;
            let opts = delete_options(query, &body)?;
            match store.delete(t, &name, &opts).await? {
                Deleted::Now(obj) => {
                    release_allocations(state, info, &obj, &opts).await;
                    if info.resource.plural == "pods" && info.resource.group.is_empty() {
                        Ok(json_response(StatusCode::OK, &obj))
                    } else {
                        let uid = meta::meta_str(&obj, "uid");
                        Ok(json_response(StatusCode::OK, &status::success(t.qualified(), &name, uid)))
                    }
                }
                Deleted::Pending(obj) => Ok(json_response(StatusCode::OK, &obj)),
            }
        }
        Verb::DeleteCollection => {
            let body = read_body(body).await?;
            let opts = delete_options(query, &body)?;
            let objects = select_all(state, info, t, query).await?;
            let mut deleted = Vec::new();
            for obj in objects {
                let name = meta::name(&obj).to_owned();
                let nt = Target { resource: t.resource, namespace: meta::meta_str(&obj, "namespace") };
                match store.delete(nt, &name, &opts).await {
                    Ok(Deleted::Now(o)) => {
                        release_allocations(state, info, &o, &opts).await;
                        deleted.push(o);
                    }
                    Ok(Deleted::Pending(o)) => deleted.push(o),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            let list = json!({
                "kind": format!("{}List", info.resource.kind),
                "apiVersion": info.resource.api_version(),
                "metadata": {},
                "items": deleted,
            });
            Ok(json_response(StatusCode::OK, &list))
        }
    }
}

/// After a CRD write, waits until this server serves what it defines, so the
/// custom resource can be used at once (as with upstream, where the handler
/// appears shortly after the CRD is Established).
async fn custom_catalog_catch_up(state: &AppState, info: &RequestInfo, written: &Value) {
    if !crate::crd::is_crd(info.resource) {
        return;
    }
    if let Some(rv) = meta::meta_str(written, "resourceVersion").and_then(|rv| rv.parse::<i64>().ok()) {
        state.custom.caught_up(rv).await;
    }
}

/// The stored Service before an update, when the target is a Service.
async fn service_before(state: &AppState, info: &RequestInfo, t: Target<'_>, name: &str) -> Option<Value> {
    let is_service = info.resource.group.is_empty() && info.resource.plural == "services" && info.subresource.is_none();
    if is_service { state.store.get(t, name).await.ok() } else { None }
}

fn node_ports(svc: &Value) -> Vec<u64> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| ports.iter().filter_map(|p| p.get("nodePort").and_then(Value::as_u64)).collect())
        .unwrap_or_default()
}

/// After a Service update: allocate node ports the new type needs and release
/// the ones it dropped.
async fn reconcile_service(
    state: &AppState,
    t: Target<'_>,
    name: &str,
    before: Option<Value>,
    after: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let Some(before) = before else { return Ok(after) };
    if dry_run {
        return Ok(after);
    }
    let kind = after.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP");
    let needs_ports = matches!(kind, "NodePort" | "LoadBalancer")
        && after
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .is_some_and(|ports| ports.iter().any(|p| p.get("nodePort").and_then(Value::as_u64).unwrap_or(0) == 0));
    let mut after = after;
    if needs_ports {
        let owner = format!("{}/{name}", t.namespace.unwrap_or(""));
        let mut claims = crate::allocator::Claims::default();
        let count = after.pointer("/spec/ports").and_then(Value::as_array).map_or(0, Vec::len);
        let mut assigned = Vec::new();
        for i in 0..count {
            let has = after.pointer(&format!("/spec/ports/{i}/nodePort")).and_then(Value::as_u64).unwrap_or(0) > 0;
            if !has {
                match state.allocator.allocate_node_port(None, &owner, &mut claims).await {
                    Ok(p) => assigned.push((i, p)),
                    Err(e) => {
                        state.allocator.release(claims).await;
                        return Err(e);
                    }
                }
            }
        }
        let result = state
            .store
            .update_with(t, name, None, false, |cur| {
                let mut new = cur.clone();
                for (i, p) in &assigned {
                    if let Some(port) = new.pointer_mut(&format!("/spec/ports/{i}")) {
                        port["nodePort"] = json!(p);
                    }
                }
                meta::meta_mut(&mut new).remove("resourceVersion");
                Ok(new)
            })
            .await;
        match result {
            Ok(updated) => after = updated,
            Err(e) => {
                state.allocator.release(claims).await;
                return Err(e);
            }
        }
    }
    let kept = node_ports(&after);
    let dropped: Vec<u64> = node_ports(&before).into_iter().filter(|p| !kept.contains(p)).collect();
    if !dropped.is_empty() {
        let mut gone = before.clone();
        gone["spec"]["clusterIPs"] = json!([]);
        gone["spec"]["ports"] = json!(dropped.iter().map(|p| json!({ "nodePort": p })).collect::<Vec<_>>());
        state.allocator.release_service(&gone).await;
    }
    Ok(after)
}

async fn release_allocations(state: &AppState, info: &RequestInfo, obj: &Value, opts: &DeleteOptions) {
    if !opts.dry_run && info.resource.group.is_empty() && info.resource.plural == "services" {
        state.allocator.release_service(obj).await;
    }
}

/// Unknown fields per `fieldValidation` (main resources only); for custom
/// resources also their schema's defaults and validation.
fn unknown_field_check(
    info: &RequestInfo,
    query: &HashMap<String, String>,
    obj: &mut Value,
) -> Result<Vec<String>, ApiError> {
    let mode = crate::field_validation::mode(query.get("fieldValidation"))?;
    if let Some(custom) = &info.custom {
        // Custom resources: pruned, defaulted and validated by their schema (status included).
        return match info.subresource.as_deref() {
            None | Some("status") => crate::crd::admit(custom, mode, obj),
            Some(_) => Ok(Vec::new()),
        };
    }
    if info.subresource.is_some() {
        return Ok(Vec::new());
    }
    crate::field_validation::check(mode, info.resource.group, &info.version, info.resource.kind, obj)
}

/// Adds `Warning: 299 - "…"` headers, as upstream reports non-fatal problems.
fn with_warnings(mut resp: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", serde_json::Value::String(w.clone()));
        if let Ok(v) = header::HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

fn check_type(info: &RequestInfo, obj: &Value) -> Result<(), ApiError> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let expected = match info.resource.subresource(info.subresource.as_deref().unwrap_or("")) {
        Some(sub) if info.subresource.as_deref() != Some("status") => sub.kind,
        _ => info.resource.kind,
    };
    if !kind.is_empty() && kind != expected && (info.subresource.as_deref() != Some("finalize")) {
        return Err(ApiError::bad_request(format!(
            "the kind of the provided object ({kind}) does not match the kind of the request ({expected})"
        )));
    }
    Ok(())
}

fn delete_options(query: &HashMap<String, String>, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions::default();
    if !body.is_empty() {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the DeleteOptions body is not valid JSON: {e}")))?;
        opts.grace_period_seconds = v.get("gracePeriodSeconds").and_then(Value::as_i64);
        opts.propagation_policy = v.get("propagationPolicy").and_then(Value::as_str).map(str::to_owned);
        if v.get("orphanDependents").and_then(Value::as_bool) == Some(true) && opts.propagation_policy.is_none() {
            opts.propagation_policy = Some("Orphan".into());
        }
        if let Some(pre) = v.get("preconditions") {
            opts.precondition_uid = pre.get("uid").and_then(Value::as_str).map(str::to_owned);
            opts.precondition_resource_version = pre.get("resourceVersion").and_then(Value::as_str).map(str::to_owned);
        }
        opts.dry_run = v.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|d| d == "All"));
    }
    if let Some(g) = query.get("gracePeriodSeconds") {
        opts.grace_period_seconds =
            Some(g.parse().map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds {g:?}")))?);
    }
    if let Some(p) = query.get("propagationPolicy") {
        opts.propagation_policy = Some(p.clone());
    }
    if dry_run(query)? {
        opts.dry_run = true;
    }
    Ok(opts)
}

fn render_one(info: &RequestInfo, obj: Value, rendering: Rendering, query: &HashMap<String, String>) -> Response {
    if rendering == Rendering::Table && info.subresource.is_none() {
        let include = query.get("includeObject").map(String::as_str).unwrap_or("Metadata");
        let rv = meta::meta_str(&obj, "resourceVersion").unwrap_or("").to_owned();
        let t = table::table(
            info.resource,
            info.custom.as_deref(),
            std::slice::from_ref(&obj),
            json!({ "resourceVersion": rv }),
            include,
            true,
        );
        return json_response(StatusCode::OK, &t);
    }
    json_response(StatusCode::OK, &obj)
}

/// GET of a subresource: status returns the whole object, scale a Scale.
fn subresource_view(info: &RequestInfo, obj: Value) -> Result<Value, ApiError> {
    match info.subresource.as_deref() {
        None | Some("status") => Ok(obj),
        Some("scale") => scale_of(info, &obj),
        Some(_) => Err(ApiError::method_not_allowed()),
    }
}

/// A simple JSONPath of a CRD's scale subresource (`.spec.replicas`) as a JSON pointer.
fn scale_pointer(path: &str) -> String {
    path.replace('.', "/")
}

/// Sets the value at a simple JSONPath, making the objects on the way.
fn set_at_path(obj: &mut Value, path: &str, value: Value) -> Result<(), ApiError> {
    let mut cur = obj;
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let map = cur.as_object_mut().ok_or_else(|| ApiError::bad_request(format!("{path} is not settable")))?;
        if i + 1 == parts.len() {
            map.insert((*part).to_owned(), value);
            return Ok(());
        }
        cur = map.entry((*part).to_owned()).or_insert_with(|| json!({}));
    }
    Err(ApiError::bad_request(format!("{path} is not settable")))
}

fn scale_of(info: &RequestInfo, obj: &Value) -> Result<Value, ApiError> {
    if let Some(paths) = info.custom.as_ref().and_then(|c| c.scale.as_ref()) {
        let replicas = obj.pointer(&scale_pointer(&paths.spec_replicas)).and_then(Value::as_i64).unwrap_or(0);
        let status_replicas = obj.pointer(&scale_pointer(&paths.status_replicas)).and_then(Value::as_i64).unwrap_or(0);
        let mut status = json!({ "replicas": status_replicas });
        if let Some(sel) =
            paths.label_selector.as_ref().and_then(|p| obj.pointer(&scale_pointer(p))).and_then(Value::as_str)
        {
            status["selector"] = json!(sel);
        }
        return Ok(scale_object(obj, replicas, status));
    }
    let replicas = obj.get("spec").and_then(|s| s.get("replicas")).and_then(Value::as_i64).unwrap_or(1);
    let status_replicas = obj.get("status").and_then(|s| s.get("replicas")).and_then(Value::as_i64).unwrap_or(0);
    let selector = obj
        .get("spec")
        .and_then(|s| s.get("selector"))
        .map(|sel| {
            if info.resource.plural == "replicationcontrollers" {
                let map: std::collections::BTreeMap<String, String> = sel
                    .as_object()
                    .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                    .unwrap_or_default();
                LabelSelector::from_match_labels(&map).to_string()
            } else {
                serde_json::from_value(sel.clone())
                    .ok()
                    .and_then(|s: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector| {
                        LabelSelector::from_meta(Some(&s)).ok()
                    })
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            }
        })
        .unwrap_or_default();
    Ok(scale_object(obj, replicas, json!({ "replicas": status_replicas, "selector": selector })))
}

/// The autoscaling/v1 Scale of `obj`, with its identity.
fn scale_object(obj: &Value, replicas: i64, status: Value) -> Value {
    let md = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": md.get("name"), "namespace": md.get("namespace"), "uid": md.get("uid"),
            "resourceVersion": md.get("resourceVersion"), "creationTimestamp": md.get("creationTimestamp"),
        },
        "spec": { "replicas": replicas },
        "status": status,
    })
}

async fn update_scale(
    state: &AppState,
    info: &RequestInfo,
    t: Target<'_>,
    name: &str,
    scale: Value,
    dry_run: bool,
) -> Result<Response, ApiError> {
    let replicas = scale
        .get("spec")
        .and_then(|s| s.get("replicas"))
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("spec.replicas is required in a Scale"))?;
    if replicas < 0 {
        let err = rustkube_api::validation::FieldError::invalid(
            "spec.replicas",
            replicas.to_string(),
            "must be greater than or equal to 0",
        );
        return Err(ApiError::invalid("Scale", "autoscaling", name, &[err]));
    }
    let pinned = meta::meta_str(&scale, "resourceVersion").map(str::to_owned).filter(|s| !s.is_empty());
    let obj = state
        .store
        .update_with(t, name, None, dry_run, |old| {
            let mut new = old.clone();
            match info.custom.as_ref().and_then(|c| c.scale.as_ref()) {
                Some(paths) => set_at_path(&mut new, &paths.spec_replicas, json!(replicas))?,
                None => new["spec"]["replicas"] = json!(replicas),
            }
            match &pinned {
                Some(rv) => meta::meta_mut(&mut new).insert("resourceVersion".into(), json!(rv)),
                None => meta::meta_mut(&mut new).remove("resourceVersion"),
            };
            Ok(new)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &scale_of(info, &obj)?))
}

/// Sets the pod's PodScheduled condition to True (keeping its transition time if it already was).
fn set_pod_scheduled(pod: &mut Value) {
    let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    if !pod.get("status").is_some_and(Value::is_object) {
        pod["status"] = json!({});
    }
    if !pod["status"].get("conditions").is_some_and(Value::is_array) {
        pod["status"]["conditions"] = json!([]);
    }
    let Some(conditions) = pod["status"]["conditions"].as_array_mut() else { return };
    match conditions.iter_mut().find(|c| c.get("type").and_then(Value::as_str) == Some("PodScheduled")) {
        Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => {}
        Some(c) => {
            *c = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
        }
        None => conditions
            .push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now})),
    }
}

async fn create_subresource(
    state: &AppState,
    info: &RequestInfo,
    t: Target<'_>,
    body: Value,
) -> Result<Response, ApiError> {
    let name = info.name.clone().unwrap_or_default();
    match (info.resource.plural, info.subresource.as_deref()) {
        ("pods", Some("binding")) => {
            let node = body
                .get("target")
                .and_then(|t| t.get("name"))
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ApiError::bad_request("Binding.target.name is required"))?
                .to_owned();
            state
                .store
                .update_with(t, &name, Some("binding"), false, |old| {
                    if meta::is_deleting(old) {
                        return Err(ApiError::conflict(
                            t.qualified(),
                            &name,
                            "pod is being deleted, cannot be assigned to a host",
                        ));
                    }
                    let current = old.get("spec").and_then(|s| s.get("nodeName")).and_then(Value::as_str).unwrap_or("");
                    if !current.is_empty() {
                        return Err(ApiError::conflict(
                            t.qualified(),
                            &name,
                            &format!("pod {name} is already assigned to node \"{current}\""),
                        ));
                    }
                    let mut new = old.clone();
                    new["spec"]["nodeName"] = json!(node);
                    meta::meta_mut(&mut new).remove("resourceVersion");
                    // As upstream's assignPod: the binding's annotations join the pod's,
                    // and the pod is marked PodScheduled=True.
                    if let Some(annotations) = body.pointer("/metadata/annotations").and_then(Value::as_object) {
                        let meta = meta::meta_mut(&mut new);
                        let target = meta.entry("annotations").or_insert_with(|| json!({}));
                        if let Some(target) = target.as_object_mut() {
                            for (k, v) in annotations {
                                target.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    set_pod_scheduled(&mut new);
                    Ok(new)
                })
                .await?;
            Ok(json_response(
                StatusCode::CREATED,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            ))
        }
        ("pods", Some("eviction")) => evict(state, t, &name, &body).await,
        ("serviceaccounts", Some("token")) => {
            crate::token_request::create(state, t.namespace.unwrap_or_default(), &name, body).await
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `pods/eviction`: delete the pod unless a PodDisruptionBudget forbids it (429).
async fn evict(state: &AppState, t: Target<'_>, name: &str, eviction: &Value) -> Result<Response, ApiError> {
    let pod = state.store.get(t, name).await?;
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    let terminal = matches!(phase, "Succeeded" | "Failed") || meta::is_deleting(&pod);
    if !terminal {
        let pdb_resource =
            rustkube_api::registry::lookup("policy", "v1", "poddisruptionbudgets").expect("pdbs are served");
        let pdb_target = Target { resource: pdb_resource, namespace: t.namespace };
        let prefix = pdb_target.prefix()?;
        let (pdbs, _) = state.store.list_page(pdb_target, &ListOptions { prefix, ..Default::default() }).await?;
        let labels = meta::labels(&pod);
        let matching: Vec<&Value> = pdbs
            .iter()
            .filter(|pdb| {
                pdb.pointer("/spec/selector")
                    .cloned()
                    .and_then(|sel| serde_json::from_value(sel).ok())
                    .and_then(|sel: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector| {
                        LabelSelector::from_meta(Some(&sel)).ok()
                    })
                    .is_some_and(|sel| !sel.is_everything() && sel.matches(&labels))
            })
            .collect();
        if matching.len() > 1 {
            return Err(ApiError::internal(
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
        if let Some(pdb) = matching.first() {
            let allowed = pdb.pointer("/status/disruptionsAllowed").and_then(Value::as_i64).unwrap_or(0);
            if allowed <= 0 {
                let pdb_name = meta::name(pdb);
                let healthy = pdb.pointer("/status/currentHealthy").and_then(Value::as_i64).unwrap_or(0);
                let desired = pdb.pointer("/status/desiredHealthy").and_then(Value::as_i64).unwrap_or(0);
                let mut e = ApiError::new(
                    429,
                    "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                );
                e.details = Some(json!({ "causes": [{
                    "reason": "DisruptionBudget",
                    "message": format!("The disruption budget {pdb_name} needs {desired} healthy pods and has {healthy} currently"),
                }] }));
                return Err(e);
            }
            // Spend one disruption (the disruption controller recomputes the budget).
            let pdb_name = meta::name(pdb).to_owned();
            let pod_name = name.to_owned();
            state
                .store
                .update_with(pdb_target, &pdb_name, Some("status"), false, |cur| {
                    let mut new = cur.clone();
                    let allowed = cur.pointer("/status/disruptionsAllowed").and_then(Value::as_i64).unwrap_or(0);
                    if allowed <= 0 {
                        return Err(ApiError::new(
                            429,
                            "TooManyRequests",
                            "Cannot evict pod as it would violate the pod's disruption budget.",
                        ));
                    }
                    new["status"]["disruptionsAllowed"] = json!(allowed - 1);
                    new["status"]["disruptedPods"][&pod_name] = json!(meta::now_rfc3339());
                    meta::meta_mut(&mut new).remove("resourceVersion");
                    Ok(new)
                })
                .await?;
        }
    }
    let opts = eviction.get("deleteOptions").map(|d| serde_json::to_vec(d).unwrap_or_default()).unwrap_or_default();
    let opts = delete_options(&HashMap::new(), &opts)?;
    state.store.delete(t, name, &opts).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 }),
    ))
}

/// Label and field selectors from the query, validated for the kind.
fn selectors(info: &RequestInfo, query: &HashMap<String, String>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map(String::as_str).unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fields = fields
        .convert_for(info.resource.group, info.resource.kind)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok((labels, fields))
}

pub(crate) fn matches(info: &RequestInfo, labels: &LabelSelector, fields: &FieldSelector, obj: &Value) -> bool {
    if !labels.is_everything() && !labels.matches(&meta::labels(obj)) {
        return false;
    }
    fields.is_everything()
        || fields.matches(&field_selector::object_fields(info.resource.group, info.resource.kind, obj))
}

async fn select_all(
    state: &AppState,
    info: &RequestInfo,
    t: Target<'_>,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let (labels, fields) = selectors(info, query)?;
    let opts = ListOptions { prefix: t.prefix()?, ..Default::default() };
    let (items, _) = state.store.list_page(t, &opts).await?;
    Ok(items.into_iter().filter(|o| matches(info, &labels, &fields, o)).collect())
}

async fn list(
    state: &AppState,
    info: &RequestInfo,
    t: Target<'_>,
    query: &HashMap<String, String>,
    rendering: Rendering,
) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(info, query)?;
    let prefix = t.prefix()?;
    let limit: Option<usize> = match query.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => {
            Some(l.parse().map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?).filter(|l| *l > 0)
        }
        None => None,
    };
    let mut opts = ListOptions { prefix: prefix.clone(), ..Default::default() };
    if let Some(token) = query.get("continue").filter(|c| !c.is_empty()) {
        let tok = ContinueToken::decode(token, &prefix).map_err(|e| ApiError::bad_request(e.to_string()))?;
        opts.start_key = Some(tok.start_key);
        opts.revision = Some(tok.revision);
    } else if let Some(rv) = query.get("resourceVersion").filter(|rv| !rv.is_empty() && *rv != "0") {
        let rv = parse_rv(rv)?;
        if query.get("resourceVersionMatch").map(String::as_str) == Some("Exact") {
            opts.revision = Some(rv);
        }
    }
    let mut items = Vec::new();
    let mut revision = None;
    let mut next = None;
    let mut remaining = None;
    loop {
        let mut page_opts = opts.clone();
        page_opts.limit = limit.map(|l| (l - items.len()).max(1));
        let (page, res) = state.store.list_page(t, &page_opts).await?;
        revision.get_or_insert(res.revision);
        items.extend(page.into_iter().filter(|o| matches(info, &labels, &fields, o)));
        match (res.next_key, limit) {
            (Some(key), Some(l)) if items.len() < l => {
                opts.start_key = Some(key);
                opts.revision = Some(res.revision);
            }
            (Some(key), Some(_)) => {
                next = Some(ContinueToken { revision: res.revision, start_key: key }.encode(&prefix));
                if labels.is_everything() && fields.is_everything() {
                    remaining = res.remaining;
                }
                break;
            }
            _ => break,
        }
    }
    let revision = revision.unwrap_or(0);
    let mut list_meta = json!({ "resourceVersion": revision.to_string() });
    if let Some(c) = next {
        list_meta["continue"] = json!(c);
        if let Some(r) = remaining {
            list_meta["remainingItemCount"] = json!(r);
        }
    }
    if rendering == Rendering::Table {
        let include = query.get("includeObject").map(String::as_str).unwrap_or("Metadata");
        return Ok(json_response(
            StatusCode::OK,
            &table::table(info.resource, info.custom.as_deref(), &items, list_meta, include, true),
        ));
    }
    let list = json!({
        "kind": format!("{}List", info.resource.kind),
        "apiVersion": info.resource.api_version(),
        "metadata": list_meta,
        "items": items,
    });
    Ok(json_response(StatusCode::OK, &list))
}

async fn watch(
    state: &AppState,
    info: &RequestInfo,
    t: Target<'_>,
    query: &HashMap<String, String>,
    rendering: Rendering,
) -> Result<Response, ApiError> {
    let (labels, fields) = match &info.name {
        // GET .../pods/<name>?watch=true watches one object.
        Some(name) => {
            let mut q = query.clone();
            let by_name = format!("metadata.name={}", field_selector::escape_value(name));
            let combined = match q.get("fieldSelector").filter(|f| !f.is_empty()) {
                Some(f) => format!("{f},{by_name}"),
                None => by_name,
            };
            q.insert("fieldSelector".into(), combined);
            selectors(info, &q)?
        }
        None => selectors(info, query)?,
    };
    let prefix = t.prefix()?;
    let rv = query.get("resourceVersion").filter(|rv| !rv.is_empty()).cloned();
    let send_initial = query.get("sendInitialEvents").map(String::as_str) == Some("true");
    let bookmarks = query.get("allowWatchBookmarks").map(String::as_str) == Some("true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(30 * 60));
    // Initial state: synthetic ADDED events when no version (or "0") is given, or when asked.
    let mut initial = Vec::new();
    // Without a version (or "0"), or when asked, the watch starts with the current state.
    let requested = match rv.as_deref() {
        None | Some("0") => None,
        Some(rv) => Some(parse_rv(rv)?),
    };
    let from = if requested.is_none() || send_initial {
        let (items, res) =
            state.store.list_page(t, &ListOptions { prefix: prefix.clone(), ..Default::default() }).await?;
        initial = items.into_iter().filter(|o| matches(info, &labels, &fields, o)).collect();
        res.revision.max(requested.unwrap_or(0))
    } else {
        requested.unwrap_or(0)
    };
    let table = (rendering == Rendering::Table)
        .then(|| query.get("includeObject").cloned().unwrap_or_else(|| "Metadata".into()));
    let resource_prefix = info.resource.storage_prefix().ok_or_else(ApiError::method_not_allowed)?;
    let changes = state.watch_cache.watch(&resource_prefix, &prefix, from).await;
    let req = crate::watch_stream::WatchRequest {
        info: info.clone(),
        labels,
        fields,
        table,
        bookmarks,
        send_initial,
        from,
        timeout,
    };
    let mut resp = Response::new(Body::from_stream(crate::watch_stream::stream(req, initial, changes)));
    resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// Parses the path for a resource request (re-exported for the router).
pub fn classify(
    method: &Method,
    path: &str,
    query: Option<&str>,
    custom: &crate::crd::Catalog,
) -> Result<Option<RequestInfo>, ApiError> {
    request::parse(method, path, &parse_query(query), custom)
}
