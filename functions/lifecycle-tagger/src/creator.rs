//! Who created a resource, from the CloudTrail `userIdentity` of the create call: the value of
//! the `CreatedBy` tag, and the IAM role whose tags may say who owns the resource.
//!
//! Only names go into the tag (a role and its session, a user, a service); an access key id is
//! never used, not even when a session happens to be named after one.

use aws_lambda_events::event::cloudwatch_events::cloudtrail::UserIdentity;

pub const CREATED_BY: &str = "CreatedBy";
pub const CREATED_AT: &str = "CreatedAt";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creator {
    /// An assumed role (including IAM Identity Center permission sets and roles services
    /// assume): the role that issued the session and the session's name.
    AssumedRole {
        role: String,
        session: Option<String>,
        /// The account the role belongs to, when CloudTrail says.
        account: Option<String>,
    },
    IamUser {
        name: String,
    },
    Root,
    FederatedUser {
        name: String,
    },
    /// A SAML or web-identity federated user (`saml`, `web-identity`).
    IdentityProvider {
        kind: &'static str,
        name: String,
    },
    /// An AWS service acting with its own credentials, e.g. `sagemaker.amazonaws.com`.
    Service {
        service: String,
    },
    /// A principal of another account, known only by that account.
    OtherAccount {
        account: String,
    },
    IdentityCenterUser {
        user_id: String,
    },
}

impl Creator {
    /// Who created it, or `None` when the identity names nobody we can tell.
    pub fn from_identity(identity: &UserIdentity) -> Option<Creator> {
        let arn_tail = |marker: &str| {
            identity
                .arn
                .as_deref()
                .and_then(|arn| arn.split_once(marker))
                .map(|(_, tail)| tail.to_owned())
        };
        let non_empty = |value: Option<&String>| value.filter(|v| !v.is_empty()).cloned();
        let creator = match identity.r#type.as_str() {
            "AssumedRole" => {
                let issuer = identity
                    .session_context
                    .as_ref()
                    .and_then(|c| c.session_issuer.as_ref());
                // `assumed-role/ROLE/SESSION` in the STS ARN.
                let from_arn = arn_tail(":assumed-role/");
                let (arn_role, arn_session) = match from_arn.as_deref().map(|t| t.split_once('/')) {
                    Some(Some((role, session))) => {
                        (Some(role.to_owned()), Some(session.to_owned()))
                    }
                    Some(None) => (from_arn.clone(), None),
                    None => (None, None),
                };
                let role = non_empty(issuer.and_then(|i| i.user_name.as_ref()))
                    .or_else(|| {
                        issuer
                            .and_then(|i| i.arn.rsplit_once('/'))
                            .map(|(_, name)| name.to_owned())
                    })
                    .or(arn_role)?;
                let session = arn_session
                    .or_else(|| {
                        identity
                            .principal_id
                            .as_deref()
                            .and_then(|p| p.split_once(':'))
                            .map(|(_, session)| session.to_owned())
                    })
                    .filter(|s| !s.is_empty() && !looks_like_access_key(s));
                let account = issuer
                    .map(|i| i.account_id.clone())
                    .filter(|a| !a.is_empty())
                    .or_else(|| identity.account_id.clone());
                Creator::AssumedRole {
                    role,
                    session,
                    account,
                }
            }
            "IAMUser" => Creator::IamUser {
                name: non_empty(identity.user_name.as_ref()).or_else(|| {
                    arn_tail(":user/").map(|path| {
                        path.rsplit_once('/')
                            .map_or(path.clone(), |(_, name)| name.to_owned())
                    })
                })?,
            },
            "Root" => Creator::Root,
            "FederatedUser" => Creator::FederatedUser {
                name: arn_tail(":federated-user/")
                    .or_else(|| non_empty(identity.user_name.as_ref()))?,
            },
            "SAMLUser" => Creator::IdentityProvider {
                kind: "saml",
                name: non_empty(identity.user_name.as_ref())?,
            },
            "WebIdentityUser" => Creator::IdentityProvider {
                kind: "web-identity",
                name: non_empty(identity.user_name.as_ref())?,
            },
            "AWSService" => Creator::Service {
                service: non_empty(identity.invoked_by.as_ref())?,
            },
            "AWSAccount" => Creator::OtherAccount {
                account: non_empty(identity.account_id.as_ref())?,
            },
            "IdentityCenterUser" => Creator::IdentityCenterUser {
                user_id: identity
                    .on_behalf_of
                    .as_ref()
                    .map(|o| o.user_id.clone())
                    .filter(|id| !id.is_empty())?,
            },
            _ => return None,
        };
        Some(creator)
    }

    /// The `CreatedBy` tag value, e.g. `assumed-role/DataScientist/alice@example.com`.
    pub fn tag_value(&self) -> String {
        let raw = match self {
            Creator::AssumedRole {
                role,
                session: Some(session),
                ..
            } => format!("assumed-role/{role}/{session}"),
            Creator::AssumedRole { role, .. } => format!("assumed-role/{role}"),
            Creator::IamUser { name } => format!("user/{name}"),
            Creator::Root => "root".to_owned(),
            Creator::FederatedUser { name } => format!("federated-user/{name}"),
            Creator::IdentityProvider { kind, name } => format!("{kind}/{name}"),
            Creator::Service { service } => format!("service/{service}"),
            Creator::OtherAccount { account } => format!("account/{account}"),
            Creator::IdentityCenterUser { user_id } => format!("identity-center/{user_id}"),
        };
        tag_safe(&raw)
    }

    /// The role whose tags say who owns what it creates: the issuer of an assumed-role
    /// session in `account` (another account's role tags cannot be read here).
    pub fn role_in(&self, account: &str) -> Option<&str> {
        match self {
            Creator::AssumedRole {
                role, account: a, ..
            } if a.as_deref().is_none_or(|a| a == account) => Some(role),
            _ => None,
        }
    }
}

/// The role named by a `CreatedBy` value this function wrote (`assumed-role/ROLE/...`), so a
/// sweep can use the creator's role long after the create event.
pub fn role_from_tag(created_by: &str) -> Option<&str> {
    let rest = created_by.strip_prefix("assumed-role/")?;
    let role = rest.split('/').next()?;
    (!role.is_empty()).then_some(role)
}

/// `AKIA…`/`ASIA…` followed by 16 upper-case letters or digits.
fn looks_like_access_key(value: &str) -> bool {
    value.len() == 20
        && (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Tag values allow letters, digits, spaces and `_.:/=+-@`, up to 256 characters; anything
/// else (a comma in a session name) becomes `_`.
fn tag_safe(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn identity(value: Value) -> UserIdentity {
        serde_json::from_value(value).unwrap()
    }

    fn creator(value: Value) -> Option<Creator> {
        Creator::from_identity(&identity(value))
    }

    fn session_context(issuer_arn: &str, issuer_name: &str) -> Value {
        json!({
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": issuer_arn,
                "accountId": "123456789012", "userName": issuer_name},
            "attributes": {"creationDate": "2026-11-20T17:31:08Z", "mfaAuthenticated": "false"}
        })
    }

    #[test]
    fn an_assumed_role_is_its_issuer_and_session_never_the_access_key() {
        let c = creator(json!({
            "type": "AssumedRole",
            "principalId": "AROAX5EXAMPLEDSROLE01:alice@acme.example",
            "arn": "arn:aws:sts::123456789012:assumed-role/DataScientist/alice@acme.example",
            "accountId": "123456789012",
            "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "sessionContext": session_context("arn:aws:iam::123456789012:role/teams/DataScientist", "DataScientist")
        }))
        .unwrap();
        assert_eq!(
            c.tag_value(),
            "assumed-role/DataScientist/alice@acme.example"
        );
        assert!(!c.tag_value().contains("ASIA"));
        assert_eq!(c.role_in("123456789012"), Some("DataScientist"));
        assert_eq!(c.role_in("999999999999"), None);
    }

    #[test]
    fn a_session_named_like_an_access_key_is_left_out() {
        let c = creator(json!({
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:ASIAIOSFODNN7EXAMPLE",
            "arn": "arn:aws:sts::123456789012:assumed-role/Deployer/ASIAIOSFODNN7EXAMPLE",
            "accountId": "123456789012"
        }))
        .unwrap();
        assert_eq!(c.tag_value(), "assumed-role/Deployer");
    }

    #[test]
    fn sso_users_are_the_permission_set_role_and_their_name() {
        let c = creator(json!({
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:bob@acme.example",
            "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_MLEngineer_0123456789abcdef/bob@acme.example",
            "accountId": "123456789012",
            "sessionContext": session_context(
                "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_MLEngineer_0123456789abcdef",
                "AWSReservedSSO_MLEngineer_0123456789abcdef")
        }))
        .unwrap();
        assert_eq!(
            c.tag_value(),
            "assumed-role/AWSReservedSSO_MLEngineer_0123456789abcdef/bob@acme.example"
        );
        assert_eq!(
            c.role_in("123456789012"),
            Some("AWSReservedSSO_MLEngineer_0123456789abcdef")
        );
    }

    #[test]
    fn iam_users_root_and_federated_users() {
        let user = creator(json!({
            "type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": "123456789012",
            "arn": "arn:aws:iam::123456789012:user/ml/carol", "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "userName": "carol"
        }))
        .unwrap();
        assert_eq!(user.tag_value(), "user/carol");
        assert_eq!(user.role_in("123456789012"), None);
        let no_name = creator(json!({
            "type": "IAMUser", "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::123456789012:user/ml/dave"
        }))
        .unwrap();
        assert_eq!(no_name.tag_value(), "user/dave");

        let root = creator(json!({
            "type": "Root", "principalId": "123456789012", "accountId": "123456789012",
            "arn": "arn:aws:iam::123456789012:root", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"
        }))
        .unwrap();
        assert_eq!(root.tag_value(), "root");

        let federated = creator(json!({
            "type": "FederatedUser", "principalId": "123456789012:erin",
            "arn": "arn:aws:sts::123456789012:federated-user/erin", "accountId": "123456789012"
        }))
        .unwrap();
        assert_eq!(federated.tag_value(), "federated-user/erin");

        let saml = creator(json!({
            "type": "SAMLUser", "principalId": "SAMLissuer:frank", "userName": "frank"
        }))
        .unwrap();
        assert_eq!(saml.tag_value(), "saml/frank");
        let web =
            creator(json!({"type": "WebIdentityUser", "userName": "accounts.google.com:123"}))
                .unwrap();
        assert_eq!(web.tag_value(), "web-identity/accounts.google.com:123");
    }

    #[test]
    fn services_and_other_accounts() {
        let service = creator(json!({
            "type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"
        }))
        .unwrap();
        assert_eq!(service.tag_value(), "service/sagemaker.amazonaws.com");
        assert_eq!(service.role_in("123456789012"), None);
        let other = creator(json!({
            "type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": "210987654321"
        }))
        .unwrap();
        assert_eq!(other.tag_value(), "account/210987654321");
        let sso = creator(json!({
            "type": "IdentityCenterUser", "accountId": "123456789012",
            "onBehalfOf": {"userId": "9067-abcd", "identityStoreArn": "arn:aws:identitystore::123456789012:identitystore/d-1"}
        }))
        .unwrap();
        assert_eq!(sso.tag_value(), "identity-center/9067-abcd");
    }

    #[test]
    fn identities_naming_nobody_are_unknown() {
        assert_eq!(
            creator(json!({"type": "Unknown", "principalId": "x"})),
            None
        );
        assert_eq!(
            creator(
                json!({"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"})
            ),
            None
        );
        assert_eq!(creator(json!({"type": "AWSService"})), None);
    }

    #[test]
    fn tag_values_are_made_safe_and_roles_read_back() {
        let c = Creator::AssumedRole {
            role: "Ops".to_owned(),
            session: Some("a,b".to_owned()),
            account: None,
        };
        assert_eq!(c.tag_value(), "assumed-role/Ops/a_b");
        assert_eq!(role_from_tag("assumed-role/Ops/a_b"), Some("Ops"));
        assert_eq!(role_from_tag("assumed-role/Ops"), Some("Ops"));
        assert_eq!(role_from_tag("user/carol"), None);
        assert_eq!(role_from_tag("alice"), None);
    }
}
