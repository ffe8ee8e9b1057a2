//! ConfigMaps, Secrets and ServiceAccounts (upstream `ValidateConfigMap`,
//! `ValidateSecret`, `ValidateServiceAccount` and their updates).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};

use super::formats::is_config_map_key;
use super::meta::{immutable, validate_meta_create, validate_meta_update};
use super::opt_str;
use crate::validation::{ErrorList, FieldError, NameRule, key_path};

/// Upstream `MaxSecretSize`, which also bounds ConfigMaps: 1 MiB.
pub(crate) const MAX_SECRET_SIZE: usize = 1024 * 1024;
const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";

pub(crate) fn validate_config_map_create(config_map: &ConfigMap) -> ErrorList {
    let mut errs = validate_meta_create(&config_map.metadata, true, NameRule::Dns1123Subdomain, true);
    let empty = BTreeMap::new();
    let binary = config_map.binary_data.as_ref();
    let mut total = 0;
    for (key, value) in config_map.data.as_ref().unwrap_or(&empty) {
        let path = key_path("data", key);
        for msg in is_config_map_key(key) {
            errs.push(FieldError::invalid(&path, key, msg));
        }
        if binary.is_some_and(|b| b.contains_key(key)) {
            errs.push(FieldError::invalid(&path, key, "duplicate of key present in binaryData"));
        }
        total += value.len();
    }
    for (key, value) in binary.into_iter().flatten() {
        for msg in is_config_map_key(key) {
            errs.push(FieldError::invalid(key_path("binaryData", key), key, msg));
        }
        total += value.0.len();
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("", MAX_SECRET_SIZE));
    }
    errs
}

/// `ValidateConfigMapUpdate`: an immutable ConfigMap keeps its data and stays immutable.
pub(crate) fn validate_config_map_update(new: &ConfigMap, old: &ConfigMap) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    if old.immutable == Some(true) {
        if new.immutable != Some(true) {
            errs.push(FieldError::forbidden("immutable", IMMUTABLE_SET));
        }
        if new.data != old.data {
            errs.push(FieldError::forbidden("data", IMMUTABLE_SET));
        }
        if new.binary_data != old.binary_data {
            errs.push(FieldError::forbidden("binaryData", IMMUTABLE_SET));
        }
    }
    errs.extend(validate_config_map_create(new));
    errs
}

pub(crate) fn validate_secret_create(secret: &Secret) -> ErrorList {
    let mut errs = validate_meta_create(&secret.metadata, true, NameRule::Dns1123Subdomain, true);
    let data = effective_data(secret);
    let mut total = 0;
    for (key, value) in &data {
        for msg in is_config_map_key(key) {
            errs.push(FieldError::invalid(key_path("data", key), key, msg));
        }
        total += value.len();
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("data", MAX_SECRET_SIZE));
    }
    let required = |key: &str| FieldError::required(key_path("data", key), "");
    match opt_str(&secret.type_) {
        "kubernetes.io/service-account-token" => {
            let name = secret.metadata.annotations.as_ref().and_then(|a| a.get("kubernetes.io/service-account.name"));
            if name.is_none_or(|n| n.is_empty()) {
                errs.push(FieldError::required(
                    key_path("metadata.annotations", "kubernetes.io/service-account.name"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => errs.extend(json_object_key(&data, ".dockercfg")),
        "kubernetes.io/dockerconfigjson" => errs.extend(json_object_key(&data, ".dockerconfigjson")),
        // Either may be empty, but one of the keys must be there.
        "kubernetes.io/basic-auth" if !data.contains_key("username") && !data.contains_key("password") => {
            errs.push(required("username"));
            errs.push(required("password"));
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(|v| v.is_empty()) => {
            errs.push(required("ssh-privatekey"));
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !data.contains_key(key) {
                    errs.push(required(key));
                }
            }
        }
        _ => {}
    }
    errs
}

/// `data` with `stringData` folded in, as the v1 conversion does before validation.
fn effective_data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut data: BTreeMap<String, Vec<u8>> =
        secret.data.iter().flatten().map(|(k, ByteString(v))| (k.clone(), v.clone())).collect();
    for (key, value) in secret.string_data.iter().flatten() {
        data.insert(key.clone(), value.as_bytes().to_vec());
    }
    data
}

/// A docker config key must be present and hold a JSON object.
fn json_object_key(data: &BTreeMap<String, Vec<u8>>, key: &str) -> ErrorList {
    let path = key_path("data", key);
    let Some(bytes) = data.get(key) else {
        return vec![FieldError::required(path, "")];
    };
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes) {
        Ok(_) => Vec::new(),
        Err(e) => vec![FieldError::invalid(path, "<secret contents redacted>", e.to_string())],
    }
}

/// `ValidateSecretUpdate`: the type never changes; an immutable Secret keeps its
/// data and stays immutable.
pub(crate) fn validate_secret_update(new: &Secret, old: &Secret) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    if opt_str(&new.type_) != opt_str(&old.type_) {
        errs.push(immutable("type", opt_str(&new.type_)));
    }
    if old.immutable == Some(true) {
        if new.immutable != Some(true) {
            errs.push(FieldError::forbidden("immutable", IMMUTABLE_SET));
        }
        if effective_data(new) != effective_data(old) {
            errs.push(FieldError::forbidden("data", IMMUTABLE_SET));
        }
    }
    errs.extend(validate_secret_create(new));
    errs
}

pub(crate) fn validate_service_account_create(account: &ServiceAccount) -> ErrorList {
    validate_meta_create(&account.metadata, true, NameRule::Dns1123Subdomain, true)
}

pub(crate) fn validate_service_account_update(new: &ServiceAccount, old: &ServiceAccount) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_service_account_create(new));
    errs
}
