//! Who a request comes from, as upstream's `user.Info`, and the identity a
//! client certificate carries (upstream's x509 authenticator): shared by the
//! apiserver's and the kubelet's authentication.

use std::collections::BTreeMap;

/// An authenticated (or anonymous) user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// Extra attributes (the bound pod and the token's ID for service-account tokens).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl User {
    pub fn anonymous() -> Self {
        User { name: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()], ..Default::default() }
    }

    pub fn is_anonymous(&self) -> bool {
        self.name == "system:anonymous"
    }
}

/// The user a DER client certificate names: CN → user, O values → groups
/// plus `system:authenticated`. No (or an empty) CN, or no certificate at
/// all in `der`: no user.
pub fn user_from_certificate(der: &[u8]) -> Option<User> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
    if name.is_empty() {
        return None;
    }
    let mut groups: Vec<String> =
        subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_owned)).collect();
    groups.push("system:authenticated".into());
    Some(User { name, groups, ..Default::default() })
}
