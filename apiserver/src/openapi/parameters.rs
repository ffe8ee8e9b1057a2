//! The parameters of the operations, as upstream's `endpoints/installer.go` documents them:
//! the query parameters each action takes (list, create, patch, delete, log, exec, ...) and the
//! path parameters of namespaced and named URLs.

/// Whether create, update and patch operations list the `fieldValidation` parameter. kubectl
/// reads it off each kind's PATCH operation: when listed, kubectl skips its own schema
/// validation and sends `fieldValidation=Strict`, trusting the server to reject unknown and
/// duplicate fields; when not, kubectl validates the object against this module's swagger
/// document itself. Turn on once the handlers honour `fieldValidation=Strict` as upstream does.
pub(super) const SERVER_VALIDATES_FIELDS: bool = true;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum In {
    Path,
    Query,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Param {
    pub name: &'static str,
    pub location: In,
    /// The JSON type of the value: `string`, `integer` or `boolean`.
    pub kind: &'static str,
    pub description: &'static str,
}

const fn query(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param { name, location: In::Query, kind, description }
}

pub(super) const fn path_param(name: &'static str, description: &'static str) -> Param {
    Param { name, location: In::Path, kind: "string", description }
}

pub(super) const PRETTY: Param = query("pretty", "string", "If 'true', then the output is pretty printed.");
pub(super) const NAMESPACE: Param =
    path_param("namespace", "object name and auth scope, such as for teams and projects");
pub(super) const PROXY_PATH: Param = path_param("path", "path to the resource");

const ALLOW_WATCH_BOOKMARKS: Param = query(
    "allowWatchBookmarks",
    "boolean",
    "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may \
        ignore this flag and bookmarks are sent at the server's discretion.",
);
const CONTINUE: Param = query(
    "continue",
    "string",
    "The continue option should be set when retrieving more results from the server. Since this value is server \
        defined, clients may only use the continue value from a previous query result with identical query \
        parameters (except for the value of continue).",
);
const FIELD_SELECTOR: Param = query(
    "fieldSelector",
    "string",
    "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
);
const LABEL_SELECTOR: Param = query(
    "labelSelector",
    "string",
    "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
);
const LIMIT: Param = query(
    "limit",
    "integer",
    "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the \
        `continue` field on the list metadata to a value that can be used with the same initial query to retrieve \
        the next set of results.",
);
const RESOURCE_VERSION: Param = query(
    "resourceVersion",
    "string",
    "resourceVersion sets a constraint on what resource versions a request may be served from. See \
        https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.",
);
const RESOURCE_VERSION_MATCH: Param = query(
    "resourceVersionMatch",
    "string",
    "resourceVersionMatch determines how resourceVersion is applied to list calls.",
);
const SEND_INITIAL_EVENTS: Param = query(
    "sendInitialEvents",
    "boolean",
    "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with \
        synthetic events to produce the current state of objects in the collection.",
);
const TIMEOUT_SECONDS: Param = query(
    "timeoutSeconds",
    "integer",
    "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.",
);
const WATCH: Param = query(
    "watch",
    "boolean",
    "Watch for changes to the described resources and return them as a stream of add, update, and remove \
        notifications. Specify resourceVersion.",
);
const DRY_RUN: Param = query(
    "dryRun",
    "string",
    "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages \
        will be processed",
);
const FIELD_MANAGER: Param = query(
    "fieldManager",
    "string",
    "fieldManager is a name associated with the actor or entity that is making these changes.",
);
const FIELD_VALIDATION: Param = query(
    "fieldValidation",
    "string",
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing \
        unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict: This will fail the request with a \
        BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are \
        present.",
);
const FORCE: Param = query(
    "force",
    "boolean",
    "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other \
        people. Force flag must be unset for non-apply patch requests.",
);
const GRACE_PERIOD_SECONDS: Param = query(
    "gracePeriodSeconds",
    "integer",
    "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero \
        indicates delete immediately.",
);
const IGNORE_STORE_READ_ERROR: Param = query(
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "boolean",
    "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with \
        a corrupt object error.",
);
const ORPHAN_DEPENDENTS: Param = query(
    "orphanDependents",
    "boolean",
    "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent \
        objects be orphaned.",
);
const PROPAGATION_POLICY: Param = query(
    "propagationPolicy",
    "string",
    "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', \
        'Foreground'.",
);
const CONTAINER: Param = query("container", "string", "The container for which to stream logs or run the command.");
const STDIN: Param = query("stdin", "boolean", "Redirect the standard input stream of the pod for this call.");
const STDOUT: Param = query("stdout", "boolean", "Redirect the standard output stream of the pod for this call.");
const STDERR: Param = query("stderr", "boolean", "Redirect the standard error stream of the pod for this call.");
const TTY: Param = query("tty", "boolean", "TTY if true indicates that a tty will be allocated for the call.");

pub(super) static LIST: &[Param] = &[
    ALLOW_WATCH_BOOKMARKS,
    CONTINUE,
    FIELD_SELECTOR,
    LABEL_SELECTOR,
    LIMIT,
    RESOURCE_VERSION,
    RESOURCE_VERSION_MATCH,
    SEND_INITIAL_EVENTS,
    TIMEOUT_SECONDS,
    WATCH,
];
pub(super) static WRITE: &[Param] =
    if SERVER_VALIDATES_FIELDS { &[DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION] } else { &[DRY_RUN, FIELD_MANAGER] };
pub(super) static PATCH: &[Param] = if SERVER_VALIDATES_FIELDS {
    &[DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE]
} else {
    &[DRY_RUN, FIELD_MANAGER, FORCE]
};
pub(super) static DELETE: &[Param] =
    &[DRY_RUN, GRACE_PERIOD_SECONDS, IGNORE_STORE_READ_ERROR, ORPHAN_DEPENDENTS, PROPAGATION_POLICY];
pub(super) static DELETE_COLLECTION: &[Param] = &[
    CONTINUE,
    DRY_RUN,
    FIELD_SELECTOR,
    GRACE_PERIOD_SECONDS,
    IGNORE_STORE_READ_ERROR,
    LABEL_SELECTOR,
    LIMIT,
    ORPHAN_DEPENDENTS,
    PROPAGATION_POLICY,
    RESOURCE_VERSION,
    RESOURCE_VERSION_MATCH,
    SEND_INITIAL_EVENTS,
    TIMEOUT_SECONDS,
];
pub(super) static LOG: &[Param] = &[
    CONTAINER,
    query("follow", "boolean", "Follow the log stream of the pod. Defaults to false."),
    query(
        "insecureSkipTLSVerifyBackend",
        "boolean",
        "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving \
            certificate of the backend it is connecting to.",
    ),
    query(
        "limitBytes",
        "integer",
        "If set, the number of bytes to read from the server before terminating the log output.",
    ),
    query("previous", "boolean", "Return previous terminated container logs. Defaults to false."),
    query("sinceSeconds", "integer", "A relative time in seconds before the current time from which to show logs."),
    query(
        "stream",
        "string",
        "Specify which container log stream to return to the client. Acceptable values are \"All\", \"Stdout\" and \
            \"Stderr\".",
    ),
    query("tailLines", "integer", "If set, the number of lines from the end of the logs to show."),
    query(
        "timestamps",
        "boolean",
        "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output.",
    ),
];
pub(super) static EXEC: &[Param] = &[
    query("command", "string", "Command is the remote command to execute. argv array."),
    CONTAINER,
    STDERR,
    STDIN,
    STDOUT,
    TTY,
];
pub(super) static ATTACH: &[Param] = &[CONTAINER, STDERR, STDIN, STDOUT, TTY];
pub(super) static PORT_FORWARD: &[Param] = &[query("ports", "integer", "List of ports to forward")];
pub(super) static PROXY: &[Param] =
    &[query("path", "string", "Path is the URL path to use for the current proxy request.")];
