//! How an endpoint takes requests — real-time or asynchronous — which decides the CloudWatch
//! metrics it publishes: an asynchronous endpoint never publishes `Invocations`.

use aws_sdk_sagemaker::Client;

use crate::aws::AwsError;
use crate::sagemaker::describe_endpoint_config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationMode {
    /// `InvokeEndpoint`: `Invocations` per variant, one datapoint per request.
    RealTime,
    /// `InvokeEndpointAsync` (the config has an `AsyncInferenceConfig`): a request queue.
    Async,
}

/// The mode of an endpoint configuration; `None` when the configuration does not exist.
pub async fn of_config(client: &Client, name: &str) -> Result<Option<InvocationMode>, AwsError> {
    let Some(out) = describe_endpoint_config(client, name).await? else {
        return Ok(None);
    };
    Ok(Some(if out.async_inference_config().is_some() {
        InvocationMode::Async
    } else {
        InvocationMode::RealTime
    }))
}
