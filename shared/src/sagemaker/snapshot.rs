//! Everything needed to bring a deleted (parked) endpoint back exactly as it was.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::autoscaling::ScalingSnapshot;
use crate::pricing::PriceTable;

/// Bumped when the document's meaning changes; readers refuse formats they do not know.
pub const SNAPSHOT_FORMAT: u32 = 1;
pub const SNAPSHOT_PREFIX: &str = "snapshots/endpoints/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointSnapshot {
    pub format: u32,
    pub endpoint_name: String,
    pub endpoint_arn: String,
    pub endpoint_config_name: String,
    pub tags: BTreeMap<String, String>,
    /// What was running, for the savings estimate.
    pub instances: Vec<VariantInstances>,
    /// Scalable targets of the variants (or components), with policies and scheduled actions.
    pub scaling: ScalingSnapshot,
    /// Copy counts of inference components; such endpoints are parked by scaling these to
    /// zero instead of being deleted.
    pub inference_components: Vec<ComponentCopies>,
    pub parked_at: DateTime<Utc>,
    pub parked_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantInstances {
    pub variant: String,
    pub instance_type: Option<String>,
    pub count: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentCopies {
    pub name: String,
    pub copies: i32,
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
