//! Thin SageMaker adapters: SDK types stop here and plain structs go on to the planners.

pub mod catalog;
pub mod endpoint_configs;
pub mod endpoints;
pub mod inference_components;
pub mod invocation_mode;
pub mod jobs;
pub mod lineage;
pub mod monitoring;
pub mod notebooks;
pub mod park;
pub mod pipelines;
pub mod tags;
pub mod training;

use aws_sdk_sagemaker::Client;

use crate::aws::{AwsError, AwsResultExt};

/// Removes tag keys from any SageMaker resource (e.g. an expired snooze tag).
pub async fn delete_tags(client: &Client, arn: &str, keys: &[&str]) -> Result<(), AwsError> {
    client
        .delete_tags()
        .resource_arn(arn)
        .set_tag_keys(Some(keys.iter().map(|k| k.to_string()).collect()))
        .send()
        .await
        .aws("DeleteTags")?;
    Ok(())
}
