//! Thin SageMaker adapters: SDK types stop here and plain structs go on to the planners.

/// Pages through a SageMaker List call: a [`Listed`] of `kind` for every summary that has a
/// name and an ARN. One macro for the List calls that share a shape but not a type.
macro_rules! list_summaries {
    ($kind:expr, $request:expr, $op:literal, $items:ident, $name:ident, $arn:ident) => {{
        let mut pages = $request.into_paginator().send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            for item in page.aws($op)?.$items.unwrap_or_default() {
                if let (Some(name), Some(arn)) = (item.$name, item.$arn) {
                    found.push(crate::sagemaker::Listed {
                        kind: $kind,
                        name,
                        arn,
                        created: item
                            .creation_time
                            .as_ref()
                            .and_then(crate::sagemaker::to_chrono),
                    });
                }
            }
        }
        found
    }};
}

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
pub mod studio;
pub mod tags;
pub mod training;

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::operation::describe_endpoint_config::DescribeEndpointConfigOutput;
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};

use crate::aws::{AwsError, AwsResultExt};

/// SageMaker answers a Describe of something that does not exist with a ValidationException
/// ("Could not find …"), some APIs with ResourceNotFound.
pub fn is_not_found(err: &AwsError) -> bool {
    err.is_code("ResourceNotFound")
        || (err.is_code("ValidationException") && err.message.contains("Could not find"))
}

/// DescribeEndpointConfig; `None` when the configuration does not exist.
pub async fn describe_endpoint_config(
    client: &Client,
    name: &str,
) -> Result<Option<DescribeEndpointConfigOutput>, AwsError> {
    match client
        .describe_endpoint_config()
        .endpoint_config_name(name)
        .send()
        .await
        .aws("DescribeEndpointConfig")
    {
        Ok(out) => Ok(Some(out)),
        Err(err) if is_not_found(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// A resource as its List call names it; `kind` says which List call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<K> {
    pub kind: K,
    pub name: String,
    pub arn: String,
    pub created: Option<DateTime<Utc>>,
}

/// An SDK time as a chrono time (`None` outside chrono's range).
pub fn to_chrono(time: &SmithyDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}
