//! Which accounts and regions a deployment governs: `TARGET_ACCOUNTS`, `TARGET_OUS`,
//! `TARGET_REGIONS`, `MEMBER_ROLE_NAME`, `MEMBER_EXTERNAL_ID`, `FANOUT_QUEUE_URL` and
//! `TARGET_CONCURRENCY`. Unset, a function governs its own account and region only, exactly
//! as a single-account deployment does.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Env};

pub const DEFAULT_MEMBER_ROLE: &str = "sagekeeper-member";
/// Targets processed at once when a sweep runs them in one invocation (no queue).
pub const DEFAULT_TARGET_CONCURRENCY: usize = 4;

/// One account in one region: the unit a sweep is fanned out by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Target {
    pub account: String,
    pub region: String,
}

impl Target {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Target {
            account: account.into(),
            region: region.into(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

/// Where the accounts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// The function's own account only (the default).
    Home,
    /// These account ids (the home account may be among them).
    Listed(BTreeSet<String>),
    /// AWS Organizations' active accounts, under these OUs or roots when any are given.
    Organization { parents: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetsConfig {
    pub accounts: Accounts,
    /// Empty means the function's own region.
    pub regions: Vec<String>,
    pub member_role: String,
    pub external_id: Option<String>,
    pub fanout_queue_url: Option<String>,
    pub concurrency: usize,
}

impl TargetsConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let accounts = match env.get("TARGET_ACCOUNTS") {
            None => Accounts::Home,
            Some(raw) if raw.eq_ignore_ascii_case("organization") => Accounts::Organization {
                parents: list(env.get("TARGET_OUS"))
                    .into_iter()
                    .map(|id| check_parent(&id).map(|()| id))
                    .collect::<Result<_, _>>()?,
            },
            Some(raw) => {
                let ids: BTreeSet<String> = list(Some(raw)).into_iter().collect();
                if ids.is_empty() || !ids.iter().all(|id| is_account_id(id)) {
                    return Err(ConfigError::invalid(
                        "TARGET_ACCOUNTS",
                        raw,
                        "comma-separated 12-digit account ids, or organization",
                    ));
                }
                Accounts::Listed(ids)
            }
        };
        if env.get("TARGET_OUS").is_some() && !matches!(accounts, Accounts::Organization { .. }) {
            return Err(ConfigError::invalid(
                "TARGET_OUS",
                env.get("TARGET_OUS").unwrap_or_default(),
                "to be set only with TARGET_ACCOUNTS=organization",
            ));
        }
        let regions = list(env.get("TARGET_REGIONS"));
        if let Some(bad) = regions.iter().find(|r| !is_region(r)) {
            return Err(ConfigError::invalid(
                "TARGET_REGIONS",
                bad,
                "comma-separated region names such as eu-west-1,us-east-1",
            ));
        }
        let member_role = env
            .get("MEMBER_ROLE_NAME")
            .unwrap_or(DEFAULT_MEMBER_ROLE)
            .to_owned();
        if !is_role_name(&member_role) {
            return Err(ConfigError::invalid(
                "MEMBER_ROLE_NAME",
                &member_role,
                "an IAM role name (letters, digits and +=,.@_-, at most 64)",
            ));
        }
        let fanout_queue_url = env.get("FANOUT_QUEUE_URL").map(str::to_owned);
        if let Some(url) = &fanout_queue_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::invalid(
                "FANOUT_QUEUE_URL",
                url,
                "an SQS queue URL",
            ));
        }
        Ok(TargetsConfig {
            accounts,
            regions,
            member_role,
            external_id: env.get("MEMBER_EXTERNAL_ID").map(str::to_owned),
            fanout_queue_url,
            concurrency: env.number_or("TARGET_CONCURRENCY", DEFAULT_TARGET_CONCURRENCY, 1..=64)?,
        })
    }

    /// True when nothing beyond the function's own account and region is configured.
    pub fn is_home_only(&self) -> bool {
        self.accounts == Accounts::Home && self.regions.is_empty()
    }

    /// Every (account, region) pair, given the accounts the source resolved to.
    pub fn expand(&self, accounts: &BTreeSet<String>, home_region: &str) -> Vec<Target> {
        let regions: Vec<&str> = if self.regions.is_empty() {
            vec![home_region]
        } else {
            self.regions.iter().map(String::as_str).collect()
        };
        accounts
            .iter()
            .flat_map(|account| regions.iter().map(|r| Target::new(account.clone(), *r)))
            .collect()
    }

    /// Whether an event or message naming `target` may be acted on: its account must be a
    /// target account (`accounts` as resolved) and its region a target region.
    pub fn admits(&self, target: &Target, accounts: &BTreeSet<String>, home_region: &str) -> bool {
        let region_ok = if self.regions.is_empty() {
            target.region == home_region
        } else {
            self.regions.contains(&target.region)
        };
        region_ok && accounts.contains(&target.account)
    }

    /// The member role in `account`, in the partition of `region` (IAM is global within one).
    pub fn role_arn(&self, account: &str, region: &str) -> String {
        format!(
            "arn:{}:iam::{account}:role/{}",
            crate::model::arn::partition_of(region),
            self.member_role
        )
    }
}

fn list(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

fn check_parent(id: &str) -> Result<(), ConfigError> {
    let ok = (id.starts_with("ou-") || id.starts_with("r-"))
        && id.len() > 4
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            "TARGET_OUS",
            id,
            "comma-separated OU ids (ou-...) or root ids (r-...)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<TargetsConfig, ConfigError> {
        TargetsConfig::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn unset_means_the_home_account_and_region_only() {
        let config = config(&[]).unwrap();
        assert!(config.is_home_only());
        assert_eq!(config.member_role, DEFAULT_MEMBER_ROLE);
        assert_eq!(config.concurrency, DEFAULT_TARGET_CONCURRENCY);
        // CloudFormation passes unset parameters as empty strings.
        assert!(
            super::tests::config(&[("TARGET_ACCOUNTS", ""), ("TARGET_REGIONS", " ")])
                .unwrap()
                .is_home_only()
        );
    }

    #[test]
    fn expands_accounts_by_regions() {
        let config = config(&[
            ("TARGET_ACCOUNTS", "111111111111, 222222222222"),
            ("TARGET_REGIONS", "eu-west-1,us-east-1"),
        ])
        .unwrap();
        let Accounts::Listed(accounts) = &config.accounts else {
            panic!("listed accounts expected");
        };
        let targets = config.expand(accounts, "us-west-2");
        assert_eq!(targets.len(), 4);
        assert_eq!(targets[0], Target::new("111111111111", "eu-west-1"));
        assert_eq!(targets[3].to_string(), "222222222222/us-east-1");
        assert!(config.admits(&targets[1], accounts, "us-west-2"));
        assert!(!config.admits(
            &Target::new("333333333333", "eu-west-1"),
            accounts,
            "us-west-2"
        ));
        assert!(!config.admits(
            &Target::new("111111111111", "us-west-2"),
            accounts,
            "us-west-2"
        ));
    }

    #[test]
    fn regions_default_to_the_home_region() {
        let config = config(&[("TARGET_ACCOUNTS", "111111111111")]).unwrap();
        let accounts = BTreeSet::from(["111111111111".to_owned()]);
        assert_eq!(
            config.expand(&accounts, "eu-central-1"),
            vec![Target::new("111111111111", "eu-central-1")]
        );
    }

    #[test]
    fn organization_with_ous() {
        let config = config(&[
            ("TARGET_ACCOUNTS", "Organization"),
            ("TARGET_OUS", "ou-ab12-cdef3456,r-ab12"),
            ("MEMBER_EXTERNAL_ID", "sk-ext"),
            ("MEMBER_ROLE_NAME", "ml-governance"),
        ])
        .unwrap();
        assert_eq!(
            config.accounts,
            Accounts::Organization {
                parents: vec!["ou-ab12-cdef3456".into(), "r-ab12".into()]
            }
        );
        assert_eq!(config.external_id.as_deref(), Some("sk-ext"));
        assert_eq!(
            config.role_arn("111111111111", "cn-north-1"),
            "arn:aws-cn:iam::111111111111:role/ml-governance"
        );
        assert_eq!(
            config.role_arn("111111111111", "us-east-1"),
            "arn:aws:iam::111111111111:role/ml-governance"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            (vec![("TARGET_ACCOUNTS", "1234")], "TARGET_ACCOUNTS"),
            (
                vec![("TARGET_ACCOUNTS", "111111111111,abc")],
                "TARGET_ACCOUNTS",
            ),
            (vec![("TARGET_REGIONS", "Europe")], "TARGET_REGIONS"),
            (
                vec![("TARGET_REGIONS", "eu-west-1,eu-west")],
                "TARGET_REGIONS",
            ),
            (vec![("TARGET_OUS", "ou-ab12-cdef3456")], "TARGET_OUS"),
            (
                vec![("TARGET_ACCOUNTS", "organization"), ("TARGET_OUS", "sales")],
                "TARGET_OUS",
            ),
            (vec![("MEMBER_ROLE_NAME", "a role")], "MEMBER_ROLE_NAME"),
            (vec![("FANOUT_QUEUE_URL", "my-queue")], "FANOUT_QUEUE_URL"),
            (vec![("TARGET_CONCURRENCY", "0")], "TARGET_CONCURRENCY"),
        ];
        for (pairs, var) in cases {
            let err = config(&pairs).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { var: v, .. } if *v == var),
                "{pairs:?}: {err}"
            );
        }
    }
}
