//! Everything needed to bring a deleted (parked) endpoint back exactly as it was.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::autoscaling::ScalingSnapshot;
use crate::model::pricing::PriceTable;
pub use crate::sagemaker::endpoints::Weight;
use crate::sagemaker::endpoints::{DeploymentConfig, Endpoint};

/// Bumped when the document's meaning changes; readers refuse formats they do not know.
/// Format 2 added each variant's weight and made the instance counts something to restore
/// (format 1 kept them for the savings estimate only).
pub const SNAPSHOT_FORMAT: u32 = 2;
/// The format of a snapshot of an asynchronous endpoint held at zero instances rather than
/// deleted: a version that does not know it must refuse it, not restore it as a deleted one
/// (which would leave the endpoint held at zero). Other snapshots keep `SNAPSHOT_FORMAT`, so
/// going back to an earlier version still restores them.
pub const HELD_AT_ZERO_FORMAT: u32 = 3;
/// Formats this version reads: a format 1 snapshot restores as it always did, plus its
/// instance counts (the weights it lacks stay as the endpoint config sets them).
pub const READABLE_FORMATS: [u32; 3] = [1, 2, HELD_AT_ZERO_FORMAT];
pub const SNAPSHOT_PREFIX: &str = "snapshots/endpoints/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointSnapshot {
    pub format: u32,
    pub endpoint_name: String,
    pub endpoint_arn: String,
    pub endpoint_config_name: String,
    pub tags: BTreeMap<String, String>,
    /// What was running: for the savings estimate, and restored once the endpoint is back
    /// (an instance count set by hand or by autoscaling is not in the endpoint config).
    pub instances: Vec<VariantInstances>,
    /// Scalable targets of the variants (or components), with policies and scheduled actions.
    pub scaling: ScalingSnapshot,
    /// Copy counts of inference components; such endpoints are parked by scaling these to
    /// zero instead of being deleted.
    pub inference_components: Vec<ComponentCopies>,
    pub parked_at: DateTime<Utc>,
    pub parked_by: String,
    /// The endpoint's deployment configuration (blue/green or rolling, auto-rollback
    /// alarms), given back when it is recreated; absent from format 1 snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_config: Option<DeploymentConfig>,
    /// An asynchronous-inference endpoint: parked by holding its variants at zero instances
    /// (its queue keeps the requests), never deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub asynchronous: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantInstances {
    pub variant: String,
    pub instance_type: Option<String>,
    pub count: i32,
    /// The variant's desired traffic weight; absent from format 1 snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Weight>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentCopies {
    pub name: String,
    pub copies: i32,
}

impl crate::s3::snapshots::Snapshot for EndpointSnapshot {
    fn format(&self) -> u32 {
        self.format
    }
    fn is_readable(&self) -> bool {
        EndpointSnapshot::is_readable(self)
    }
}

impl EndpointSnapshot {
    pub fn key_for(endpoint_name: &str) -> String {
        format!("{SNAPSHOT_PREFIX}{endpoint_name}.json")
    }

    pub fn key(&self) -> String {
        Self::key_for(&self.endpoint_name)
    }

    /// Where the snapshot goes once the endpoint is fully restored.
    pub fn archive_key(&self) -> String {
        format!(
            "archive/endpoints/{}/{}.json",
            self.endpoint_name,
            self.parked_at.format("%Y%m%dT%H%M%SZ")
        )
    }

    /// Where the snapshot of an endpoint deleted for good (idle) goes: not under
    /// `SNAPSHOT_PREFIX`, or the scheduler would bring the endpoint back in the morning.
    pub fn deleted_key(&self) -> String {
        format!(
            "deleted/endpoints/{}/{}.json",
            self.endpoint_name,
            self.parked_at.format("%Y%m%dT%H%M%SZ")
        )
    }

    /// Why the endpoint, described again right before it is deleted, is no longer the one
    /// this snapshot describes (someone redeployed or updated it meanwhile), or `None`.
    pub fn changed_in(&self, now: &Endpoint) -> Option<String> {
        if now.config_name != self.endpoint_config_name {
            return Some(format!(
                "its config is now {} (the snapshot has {})",
                now.config_name, self.endpoint_config_name
            ));
        }
        (!now.is_in_service()).then(|| format!("it is now {}", now.status))
    }

    pub fn is_readable(&self) -> bool {
        READABLE_FORMATS.contains(&self.format)
    }

    pub fn hosts_inference_components(&self) -> bool {
        !self.inference_components.is_empty()
    }

    /// On-demand cost per hour of what the snapshot says was running; unknown instance types
    /// count as zero (and are listed in the second value).
    pub fn hourly_cost(&self, prices: &PriceTable) -> (f64, Vec<String>) {
        let mut unknown = Vec::new();
        let mut total = 0.0;
        for variant in &self.instances {
            let Some(instance_type) = &variant.instance_type else {
                continue;
            };
            match prices.hourly(instance_type) {
                Some(price) => total += price * f64::from(variant.count),
                None => unknown.push(instance_type.clone()),
            }
        }
        (total, unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot as the first format wrote it (no weights, no deployment config).
    const FORMAT_1: &str = r#"{
      "format": 1, "endpoint_name": "fraud",
      "endpoint_arn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud",
      "endpoint_config_name": "fraud-config", "tags": {"AutoShutdown": "true"},
      "instances": [{"variant": "AllTraffic", "instance_type": "ml.m5.large", "count": 3}],
      "scaling": {"targets": []}, "inference_components": [],
      "parked_at": "2026-11-20T18:05:00Z", "parked_by": "endpoint-scheduler"
    }"#;

    #[test]
    fn format_1_snapshots_stay_readable() {
        let snapshot: EndpointSnapshot = serde_json::from_str(FORMAT_1).unwrap();
        assert!(snapshot.is_readable());
        assert_eq!(snapshot.instances[0].count, 3);
        assert_eq!(snapshot.instances[0].weight, None);
        assert_eq!(snapshot.deployment_config, None);
        let future = EndpointSnapshot {
            format: HELD_AT_ZERO_FORMAT + 1,
            ..snapshot
        };
        assert!(!future.is_readable());
    }
}
