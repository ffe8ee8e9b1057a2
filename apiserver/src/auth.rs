//! Authentication (client certificates) and the authorization stage.
//!
//! A client certificate signed by the client CA authenticates as its CN with
//! its O values as groups, as upstream's x509 authenticator. Authorization is
//! a stage of its own in the chain: for now every authenticated user is
//! allowed (RBAC and the Node authorizer arrive with the security work), and
//! unauthenticated requests to the API are refused with 401.

use crate::request::RequestInfo;
use crate::status::ApiError;

/// The authenticated identity of a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

impl User {
    pub fn anonymous() -> Self {
        User { name: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()] }
    }

    pub fn is_anonymous(&self) -> bool {
        self.name == "system:anonymous"
    }
}

/// The identity in a DER client certificate: CN → user, O → groups.
pub fn user_from_certificate(der: &[u8]) -> Option<User> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
    let mut groups: Vec<String> =
        subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_owned)).collect();
    groups.push("system:authenticated".into());
    Some(User { name, groups })
}

/// The authorization stage.
pub fn authorize(user: &User, _info: &RequestInfo) -> Result<(), ApiError> {
    if user.is_anonymous() {
        return Err(ApiError::unauthorized());
    }
    Ok(())
}
