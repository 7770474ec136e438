//! Amazon Resource Names: parsed once, so callers compare fields instead of string prefixes.

use std::fmt;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    /// Everything after the fifth colon, e.g. `endpoint/my-endpoint` or `my-topic`.
    pub resource: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an ARN (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")]
pub struct ArnError(pub String);

impl Arn {
    pub fn parse(raw: &str) -> Result<Arn, ArnError> {
        let err = || ArnError(raw.to_owned());
        let mut parts = raw.splitn(6, ':');
        let mut next = || parts.next().ok_or_else(err);
        let (prefix, partition, service, region, account, resource) =
            (next()?, next()?, next()?, next()?, next()?, next()?);
        let account_ok = account.is_empty()
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
        let partition_ok = partition == "aws" || partition.starts_with("aws-");
        if prefix != "arn"
            || !partition_ok
            || service.is_empty()
            || resource.is_empty()
            || !account_ok
        {
            return Err(err());
        }
        Ok(Arn {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }

    /// True when region and account are both present (topics, keys, endpoints; not buckets).
    pub fn is_regional_resource(&self) -> bool {
        !self.region.is_empty() && !self.account.is_empty()
    }

    /// The resource type of `type/name` or `type:name` resources (`endpoint`, `key`, ...).
    pub fn resource_type(&self) -> Option<&str> {
        self.resource.split_once(['/', ':']).map(|(kind, _)| kind)
    }

    /// The resource's name: the part after the type, or the whole resource (topics, buckets).
    pub fn resource_name(&self) -> &str {
        self.resource
            .split_once(['/', ':'])
            .map_or(self.resource.as_str(), |(_, name)| name)
    }
}

/// The partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`, the isolated ones), for
/// building ARNs that are valid where the code runs. Region names carry it in their prefix.
pub fn partition_of(region: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

static HOME_PARTITION: OnceLock<&'static str> = OnceLock::new();

/// Records the deployment's partition, once at start, from its own region. Everything a
/// deployment governs is in that partition (roles cannot be assumed across partitions), so
/// ARNs that name no region (S3 buckets) take it.
pub fn set_home_partition(region: &str) {
    let _ = HOME_PARTITION.set(partition_of(region));
}

/// The partition recorded by `set_home_partition`; `aws` until then.
pub fn home_partition() -> &'static str {
    HOME_PARTITION.get().copied().unwrap_or("aws")
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

impl std::str::FromStr for Arn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, ArnError> {
        Arn::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        let raw = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-detector-dev";
        let arn = Arn::parse(raw).unwrap();
        assert_eq!(arn.service, "sagemaker");
        assert_eq!(arn.resource_type(), Some("endpoint"));
        assert_eq!(arn.resource_name(), "fraud-detector-dev");
        assert!(arn.is_regional_resource());
        assert_eq!(arn.to_string(), raw);
    }

    #[test]
    fn buckets_and_topics() {
        let bucket = Arn::parse("arn:aws:s3:::acme-ml-training-data").unwrap();
        assert!(!bucket.is_regional_resource());
        assert_eq!(bucket.resource_name(), "acme-ml-training-data");
        let topic = Arn::parse("arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts").unwrap();
        assert_eq!(topic.resource_type(), None);
        assert_eq!(topic.resource_name(), "alerts");
    }

    #[test]
    fn partition_follows_the_region() {
        assert_eq!(partition_of("us-east-1"), "aws");
        assert_eq!(partition_of("eu-west-3"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_of("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition_of("eu-isoe-west-1"), "aws-iso-e");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "arn:aws:sns",
            "urn:aws:sns:us-east-1:123456789012:t",
            "arn:gcp:sns:us-east-1:123456789012:t",
            "arn:aws:sns:us-east-1:1234:t",
            "arn:aws:sns:us-east-1:123456789012:",
        ] {
            assert!(Arn::parse(bad).is_err(), "{bad}");
        }
    }
}
