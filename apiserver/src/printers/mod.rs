//! Server-side table printing: the columns and cells `kubectl get` receives when it asks for
//! `application/json;as=Table;v=v1;g=meta.k8s.io`, matching upstream's `pkg/printers/internalversion`.
//!
//! The apiserver always prints "wide" (upstream's `TableConvertor` passes `Wide: true`): every row carries a
//! cell for every column, and kubectl hides the priority-1 columns unless asked for `-o wide`. Objects are
//! read as loose JSON; a missing or mistyped field reads as its zero value, so no input can panic.

mod apps;
mod batch;
mod core;
pub(crate) mod custom;
mod descriptions;
mod duration;
mod event;
mod fields;
mod networking;
mod other;
mod pod;
mod quantity;
mod selector;
mod storage;
#[cfg(test)]
mod tests;

use serde_json::Value;

/// One column of a table, as upstream's `metav1.TableColumnDefinition`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// "string" | "integer" | "number" | "boolean" | "date".
    pub type_: &'static str,
    /// "name" for the column holding the object's name, else "".
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for the default columns, 1 for the ones kubectl adds with `-o wide`.
    pub priority: i32,
}

/// Renders one object's cells, in column order; `now` is the server time used for ages.
type CellsFn = fn(&Value, jiff::Timestamp) -> Vec<Value>;

/// Columns for a resource (group "", "apps", …; plural "pods", …). Kinds without a dedicated printer get
/// upstream's default table (Name, Created At), as `rest.NewDefaultTableConvertor` builds it.
pub fn columns(group: &str, plural: &str) -> Vec<Column> {
    printer(group, plural).map_or(DEFAULT_COLUMNS, |(columns, _)| columns).to_vec()
}

/// Cells of one row, in column order, as JSON values (strings, integers, booleans) exactly as upstream
/// renders them. `now` is the server time for ages.
pub fn cells(group: &str, plural: &str, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    match printer(group, plural) {
        Some((_, cells)) => cells(obj, now),
        None => default_cells(obj),
    }
}

/// Every resource with a dedicated printer, by API group and plural resource name. Roles, cluster roles,
/// limit ranges and custom resource definitions have none upstream and get the default table.
fn printer(group: &str, plural: &str) -> Option<(&'static [Column], CellsFn)> {
    let found: (&'static [Column], CellsFn) = match (group, plural) {
        ("", "pods") => (pod::COLUMNS, pod::cells),
        ("", "podtemplates") => (core::POD_TEMPLATE_COLUMNS, core::pod_template_cells),
        ("", "replicationcontrollers") => (core::REPLICATION_CONTROLLER_COLUMNS, core::replication_controller_cells),
        ("", "services") => (core::SERVICE_COLUMNS, core::service_cells),
        ("", "endpoints") => (core::ENDPOINTS_COLUMNS, core::endpoints_cells),
        ("", "nodes") => (core::NODE_COLUMNS, core::node_cells),
        ("", "namespaces") => (core::NAMESPACE_COLUMNS, core::namespace_cells),
        ("", "events") => (event::COLUMNS, event::core_cells),
        ("events.k8s.io", "events") => (event::COLUMNS, event::events_v1_cells),
        ("", "configmaps") => (core::CONFIG_MAP_COLUMNS, core::config_map_cells),
        ("", "secrets") => (core::SECRET_COLUMNS, core::secret_cells),
        ("", "serviceaccounts") => (core::SERVICE_ACCOUNT_COLUMNS, core::service_account_cells),
        ("", "persistentvolumes") => (core::PERSISTENT_VOLUME_COLUMNS, core::persistent_volume_cells),
        ("", "persistentvolumeclaims") => (core::PERSISTENT_VOLUME_CLAIM_COLUMNS, core::persistent_volume_claim_cells),
        ("", "resourcequotas") => (core::RESOURCE_QUOTA_COLUMNS, core::resource_quota_cells),
        ("", "componentstatuses") => (core::COMPONENT_STATUS_COLUMNS, core::component_status_cells),
        ("apps", "replicasets") => (apps::REPLICA_SET_COLUMNS, apps::replica_set_cells),
        ("apps", "deployments") => (apps::DEPLOYMENT_COLUMNS, apps::deployment_cells),
        ("apps", "statefulsets") => (apps::STATEFUL_SET_COLUMNS, apps::stateful_set_cells),
        ("apps", "daemonsets") => (apps::DAEMON_SET_COLUMNS, apps::daemon_set_cells),
        ("apps", "controllerrevisions") => (apps::CONTROLLER_REVISION_COLUMNS, apps::controller_revision_cells),
        ("batch", "jobs") => (batch::JOB_COLUMNS, batch::job_cells),
        ("batch", "cronjobs") => (batch::CRON_JOB_COLUMNS, batch::cron_job_cells),
        ("networking.k8s.io", "ingresses") => (networking::INGRESS_COLUMNS, networking::ingress_cells),
        ("networking.k8s.io", "ingressclasses") => (networking::INGRESS_CLASS_COLUMNS, networking::ingress_class_cells),
        ("networking.k8s.io", "networkpolicies") => {
            (networking::NETWORK_POLICY_COLUMNS, networking::network_policy_cells)
        }
        ("networking.k8s.io", "servicecidrs") => (networking::SERVICE_CIDR_COLUMNS, networking::service_cidr_cells),
        ("networking.k8s.io", "ipaddresses") => (networking::IP_ADDRESS_COLUMNS, networking::ip_address_cells),
        ("discovery.k8s.io", "endpointslices") => {
            (networking::ENDPOINT_SLICE_COLUMNS, networking::endpoint_slice_cells)
        }
        ("storage.k8s.io", "storageclasses") => (storage::STORAGE_CLASS_COLUMNS, storage::storage_class_cells),
        ("storage.k8s.io", "csidrivers") => (storage::CSI_DRIVER_COLUMNS, storage::csi_driver_cells),
        ("storage.k8s.io", "csinodes") => (storage::CSI_NODE_COLUMNS, storage::csi_node_cells),
        ("storage.k8s.io", "volumeattachments") => {
            (storage::VOLUME_ATTACHMENT_COLUMNS, storage::volume_attachment_cells)
        }
        ("storage.k8s.io", "csistoragecapacities") => {
            (storage::CSI_STORAGE_CAPACITY_COLUMNS, storage::csi_storage_capacity_cells)
        }
        ("storage.k8s.io", "volumeattributesclasses") => {
            (storage::VOLUME_ATTRIBUTES_CLASS_COLUMNS, storage::volume_attributes_class_cells)
        }
        ("policy", "poddisruptionbudgets") => {
            (other::POD_DISRUPTION_BUDGET_COLUMNS, other::pod_disruption_budget_cells)
        }
        ("autoscaling", "horizontalpodautoscalers") => {
            (other::HORIZONTAL_POD_AUTOSCALER_COLUMNS, other::horizontal_pod_autoscaler_cells)
        }
        ("coordination.k8s.io", "leases") => (other::LEASE_COLUMNS, other::lease_cells),
        ("scheduling.k8s.io", "priorityclasses") => (other::PRIORITY_CLASS_COLUMNS, other::priority_class_cells),
        ("rbac.authorization.k8s.io", "rolebindings") => (other::ROLE_BINDING_COLUMNS, other::role_binding_cells),
        ("rbac.authorization.k8s.io", "clusterrolebindings") => {
            (other::CLUSTER_ROLE_BINDING_COLUMNS, other::role_binding_cells)
        }
        ("certificates.k8s.io", "certificatesigningrequests") => {
            (other::CERTIFICATE_SIGNING_REQUEST_COLUMNS, other::certificate_signing_request_cells)
        }
        ("node.k8s.io", "runtimeclasses") => (other::RUNTIME_CLASS_COLUMNS, other::runtime_class_cells),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations" | "validatingwebhookconfigurations") => {
            (other::WEBHOOK_CONFIGURATION_COLUMNS, other::webhook_configuration_cells)
        }
        ("admissionregistration.k8s.io", "validatingadmissionpolicies") => {
            (other::VALIDATING_ADMISSION_POLICY_COLUMNS, other::validating_admission_policy_cells)
        }
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings") => {
            (other::ADMISSION_POLICY_BINDING_COLUMNS, other::admission_policy_binding_cells)
        }
        ("flowcontrol.apiserver.k8s.io", "flowschemas") => (other::FLOW_SCHEMA_COLUMNS, other::flow_schema_cells),
        ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations") => {
            (other::PRIORITY_LEVEL_COLUMNS, other::priority_level_cells)
        }
        ("apiregistration.k8s.io", "apiservices") => (other::API_SERVICE_COLUMNS, other::api_service_cells),
        ("resource.k8s.io", "deviceclasses" | "resourceclaimtemplates") => {
            (other::NAME_AGE_COLUMNS, other::name_age_cells)
        }
        ("resource.k8s.io", "resourceclaims") => (other::RESOURCE_CLAIM_COLUMNS, other::resource_claim_cells),
        ("resource.k8s.io", "resourceslices") => (other::RESOURCE_SLICE_COLUMNS, other::resource_slice_cells),
        _ => return None,
    };
    Some(found)
}

/// Upstream's `HumanDuration`: a succinct duration with about two or three significant figures
/// ("45s", "3m10s", "70m", "5h3m", "2d1h", "2y1d"). Durations beyond Go's `time.Duration` range saturate.
#[allow(dead_code, reason = "API for callers outside the tables, which print signed durations themselves")]
pub fn human_duration(d: std::time::Duration) -> String {
    duration::human_duration_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Upstream's default table for kinds without a printer (`rest.defaultTableConvertor`).
const DEFAULT_COLUMNS: &[Column] = &[
    NAME,
    Column { name: "Created At", type_: "date", format: "", description: descriptions::META_CREATION, priority: 0 },
];

/// The default table's cells: the name and the creation time in RFC 3339, UTC, whole seconds. An unset
/// time prints as Go's zero time, as upstream's `Time.UTC().Format(time.RFC3339)` does.
fn default_cells(obj: &Value) -> Vec<Value> {
    let created = fields::time(obj, "metadata.creationTimestamp")
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
    vec![fields::cell(fields::name(obj)), fields::cell(created)]
}

/// The NAME column every printer starts with.
const NAME: Column =
    Column { name: "Name", type_: "string", format: "name", description: descriptions::META_NAME, priority: 0 };

/// The AGE column, rendered from `metadata.creationTimestamp` by [`fields::age`].
const AGE: Column = col("Age", "string", descriptions::META_CREATION);

/// A default (priority 0) column.
const fn col(name: &'static str, type_: &'static str, description: &'static str) -> Column {
    Column { name, type_, format: "", description, priority: 0 }
}

/// A column kubectl shows only with `-o wide` (priority 1).
const fn wide(name: &'static str, type_: &'static str, description: &'static str) -> Column {
    Column { name, type_, format: "", description, priority: 1 }
}

/// Upstream's shared "Containers" column description.
const CONTAINERS_DESCRIPTION: &str = "Names of each container in the template.";
/// Upstream's shared "Images" column description.
const IMAGES_DESCRIPTION: &str = "Images referenced by each container in the template.";
