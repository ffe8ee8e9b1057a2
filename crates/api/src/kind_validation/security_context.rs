//! Container security contexts and the seccomp and AppArmor profiles pods and
//! containers share (upstream `ValidateSecurityContext`, `validateSeccompProfileField`,
//! `ValidateAppArmorProfileField`).

use k8s_openapi::api::core::v1::{SeccompProfile, SecurityContext};

use super::formats::{is_valid_id, validate_local_descending_path};
use super::render;
use crate::validation::{ErrorList, FieldError, child_path};

/// `ValidateSecurityContext` of a container (privileged containers are allowed, as
/// with `--allow-privileged=true`).
pub(crate) fn validate_security_context(sc: Option<&SecurityContext>, path: &str, host_users: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(sc) = sc else {
        return errs;
    };
    for (field, id) in [("runAsUser", sc.run_as_user), ("runAsGroup", sc.run_as_group)] {
        if let Some(id) = id {
            for msg in is_valid_id(id) {
                errs.push(FieldError::invalid(child_path(path, field), id, msg));
            }
        }
    }
    if let Some(proc_mount) = &sc.proc_mount {
        if proc_mount != "Default" && proc_mount != "Unmasked" {
            errs.push(FieldError::not_supported(child_path(path, "procMount"), proc_mount, &["Default", "Unmasked"]));
        }
        if host_users && proc_mount == "Unmasked" {
            errs.push(FieldError::invalid(
                child_path(path, "procMount"),
                proc_mount,
                "`hostUsers` must be false to use `Unmasked`",
            ));
        }
    }
    errs.extend(validate_seccomp_profile(sc.seccomp_profile.as_ref(), &child_path(path, "seccompProfile")));
    if sc.allow_privilege_escalation == Some(false) {
        if sc.privileged == Some(true) {
            errs.push(FieldError::invalid(
                path,
                render::json(sc),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let adds_sys_admin = sc
            .capabilities
            .as_ref()
            .and_then(|c| c.add.as_ref())
            .is_some_and(|a| a.iter().any(|c| c == "CAP_SYS_ADMIN"));
        if adds_sys_admin {
            errs.push(FieldError::invalid(
                path,
                render::json(sc),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    if let Some(profile) = &sc.app_armor_profile {
        errs.extend(validate_app_armor_profile(
            &profile.type_,
            profile.localhost_profile.as_deref(),
            &child_path(path, "appArmorProfile"),
        ));
    }
    errs
}

/// `validateSeccompProfileField`.
pub(crate) fn validate_seccomp_profile(profile: Option<&SeccompProfile>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(profile) = profile else {
        return errs;
    };
    const TYPES: [&str; 3] = ["Localhost", "RuntimeDefault", "Unconfined"];
    match profile.type_.as_str() {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(FieldError::required(child_path(path, "type"), "type is required when seccompProfile is set")),
        other => errs.push(FieldError::not_supported(child_path(path, "type"), other, &TYPES)),
    }
    if profile.type_ == "Localhost" {
        match &profile.localhost_profile {
            None => errs.push(FieldError::required(
                child_path(path, "localhostProfile"),
                "must be set when seccomp type is Localhost",
            )),
            Some(local) => errs.extend(validate_local_descending_path(local, &child_path(path, "localhostProfile"))),
        }
    } else if profile.localhost_profile.is_some() {
        errs.push(FieldError::invalid(
            child_path(path, "localhostProfile"),
            render::json(profile),
            "can only be set when seccomp type is Localhost",
        ));
    }
    errs
}

/// `ValidateAppArmorProfileField`.
pub(crate) fn validate_app_armor_profile(kind: &str, localhost: Option<&str>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    match kind {
        "Localhost" => match localhost {
            None => errs.push(FieldError::required(
                child_path(path, "localhostProfile"),
                "must be set when AppArmor type is Localhost",
            )),
            Some(profile) => {
                if profile.trim() != profile {
                    errs.push(FieldError::invalid(
                        child_path(path, "localhostProfile"),
                        profile,
                        "must not be padded with whitespace",
                    ));
                } else if profile.is_empty() {
                    errs.push(FieldError::required(
                        child_path(path, "localhostProfile"),
                        "must be set when AppArmor type is Localhost",
                    ));
                }
                if profile.len() > 4095 {
                    errs.push(FieldError::too_long(child_path(path, "localhostProfile"), 4095));
                }
            }
        },
        "RuntimeDefault" | "Unconfined" => {
            if let Some(profile) = localhost {
                errs.push(FieldError::invalid(
                    child_path(path, "localhostProfile"),
                    profile,
                    "can only be set when AppArmor type is Localhost",
                ));
            }
        }
        "" => errs.push(FieldError::required(child_path(path, "type"), "type is required when appArmorProfile is set")),
        other => errs.push(FieldError::not_supported(
            child_path(path, "type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
    errs
}
