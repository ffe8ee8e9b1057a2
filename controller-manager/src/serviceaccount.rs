//! The service-account controller, as upstream's
//! `pkg/controller/serviceaccount/serviceaccounts_controller.go`: makes sure
//! the `default` ServiceAccount exists in every namespace that is not being
//! deleted, recreating it when it is deleted.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::PostParams;

use crate::claim::{is_namespace_terminating, is_not_found};
use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::informer::{Change, Informer};
use crate::queue::WorkQueue;

/// The accounts ensured in every namespace, as upstream's
/// `DefaultServiceAccountsControllerOptions`.
pub const SERVICE_ACCOUNTS: &[&str] = &["default"];

/// Errors of one sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("creating service account {namespace}/{name}: {source}")]
    CreateFailed {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// Whether `namespace` is being deleted, so nothing new may be created in it
/// (upstream checks `status.phase != Active`; a namespace without a phase yet
/// is taken as active, one with a deletion timestamp as terminating).
pub fn is_terminating(namespace: &Namespace) -> bool {
    namespace.metadata.deletion_timestamp.is_some()
        || namespace.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating")
}

/// Whether a create failed only because its namespace is gone or being
/// deleted (the cache had not caught up): nothing to retry.
pub fn is_namespace_gone_or_terminating(err: &kube::Error) -> bool {
    is_not_found(err) || is_namespace_terminating(err)
}

/// Queues every namespace that is added or changed and not being deleted:
/// the trigger of the controllers that keep an object in each namespace.
pub fn queue_live_namespaces(namespaces: &Informer<Namespace>, queue: WorkQueue) {
    namespaces.add_handler(move |change| {
        if let Change::Added(ns) | Change::Updated { new: ns, .. } = change
            && !is_terminating(ns)
        {
            queue.add(ns.metadata.name.clone().unwrap_or_default());
        }
    });
}

fn is_already_exists(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.is_already_exists())
}

/// The controller.
pub struct ServiceAccountsController {
    client: kube::Client,
    namespaces: Informer<Namespace>,
    service_accounts: Informer<ServiceAccount>,
    queue: WorkQueue,
}

impl std::fmt::Debug for ServiceAccountsController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountsController").finish_non_exhaustive()
    }
}

/// Constructs the `serviceaccount-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let controller = Arc::new(ServiceAccountsController {
        client: ctx.client.clone(),
        namespaces: ctx.informers.informer::<Namespace>(),
        service_accounts: ctx.informers.informer::<ServiceAccount>(),
        queue: WorkQueue::new("serviceaccount", ctx.queue_metrics.clone()),
    });
    queue_live_namespaces(&controller.namespaces, controller.queue.clone());
    let queue = controller.queue.clone();
    controller.service_accounts.add_handler(move |change| {
        if let Change::Deleted(sa) = change
            && SERVICE_ACCOUNTS.contains(&sa.metadata.name.as_deref().unwrap_or_default())
            && let Some(namespace) = sa.metadata.namespace.clone()
        {
            queue.add(namespace);
        }
    });
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move {
        controller.namespaces.wait_synced().await;
        controller.service_accounts.wait_synced().await;
        let queue = controller.queue.clone();
        // Upstream runs this controller with one worker.
        crate::controller::run_workers(controller, queue, 1, stop).await;
    }))
}

impl Reconciler for ServiceAccountsController {
    type Error = Error;

    /// `namespace` is a namespace's name.
    async fn reconcile(&self, namespace: &str) -> Result<Action, Error> {
        let Some(ns) = self.namespaces.get("", namespace) else { return Ok(Action::Done) };
        if is_terminating(&ns) {
            return Ok(Action::Done);
        }
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let mut first_failure = None;
        for &name in SERVICE_ACCOUNTS {
            if self.service_accounts.get(namespace, name).is_some() {
                continue;
            }
            let account = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    namespace: Some(namespace.to_owned()),
                    ..Default::default()
                },
                ..Default::default()
            };
            match api.create(&PostParams::default(), &account).await {
                Ok(_) => tracing::info!(namespace, name, "created service account"),
                Err(err) if is_already_exists(&err) || is_namespace_gone_or_terminating(&err) => {}
                Err(source) => {
                    tracing::debug!(namespace, name, error = %source, "creating service account failed");
                    first_failure.get_or_insert(Error::CreateFailed {
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                        source,
                    });
                }
            }
        }
        first_failure.map_or(Ok(Action::Done), Err)
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::NamespaceStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use kube::core::Status;
    use kube::core::response::{StatusCause, StatusDetails};

    use super::*;

    fn namespace(phase: Option<&str>, deleting: bool) -> Namespace {
        Namespace {
            metadata: ObjectMeta {
                name: Some("ns".into()),
                deletion_timestamp: deleting.then_some(Time(jiff::Timestamp::UNIX_EPOCH)),
                ..Default::default()
            },
            status: Some(NamespaceStatus { phase: phase.map(str::to_owned), ..Default::default() }),
            ..Default::default()
        }
    }

    fn api_error(code: u16, reason: &str, message: &str, cause: Option<&str>) -> kube::Error {
        let mut status = Status::failure(message, reason).with_code(code);
        if let Some(cause) = cause {
            status = status.with_details(StatusDetails {
                name: String::new(),
                group: String::new(),
                kind: String::new(),
                uid: String::new(),
                causes: vec![StatusCause { reason: cause.into(), message: String::new(), field: String::new() }],
                retry_after_seconds: 0,
            });
        }
        kube::Error::Api(status.boxed())
    }

    #[test]
    fn only_deleting_namespaces_are_terminating() {
        assert!(!is_terminating(&namespace(Some("Active"), false)));
        assert!(!is_terminating(&namespace(None, false)), "no phase yet is active");
        assert!(is_terminating(&namespace(Some("Terminating"), false)));
        assert!(is_terminating(&namespace(Some("Active"), true)), "a deletion timestamp wins over a stale phase");
    }

    #[test]
    fn refusals_for_gone_or_terminating_namespaces_are_recognised() {
        let terminating =
            "serviceaccounts is forbidden: unable to create new content in namespace x because it is being terminated";
        assert!(is_namespace_gone_or_terminating(&api_error(403, "Forbidden", terminating, None)));
        assert!(is_namespace_gone_or_terminating(&api_error(
            403,
            "Forbidden",
            "forbidden",
            Some("NamespaceTerminating")
        )));
        assert!(is_namespace_gone_or_terminating(&api_error(404, "NotFound", "namespaces \"x\" not found", None)));
        assert!(!is_namespace_gone_or_terminating(&api_error(403, "Forbidden", "User cannot create", None)));
        assert!(!is_namespace_gone_or_terminating(&api_error(500, "InternalError", "boom", None)));
    }

    #[test]
    fn already_exists_is_not_an_update_conflict() {
        assert!(is_already_exists(&api_error(
            409,
            "AlreadyExists",
            "serviceaccounts \"default\" already exists",
            None
        )));
        assert!(!is_already_exists(&api_error(409, "Conflict", "the object has been modified", None)));
    }
}
