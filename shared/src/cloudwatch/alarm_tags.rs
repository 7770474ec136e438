//! CloudWatch alarms: their tags, which let an alarm's author say what it is about (e.g. which
//! model to retrain) without changing the resource the alarm watches.

use aws_sdk_cloudwatch::Client;

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;

/// The alarm's tags. An alarm deleted since it fired has none to give, so "not found" is an
/// empty set rather than an error.
pub async fn tags(client: &Client, alarm_arn: &str) -> Result<Tags, AwsError> {
    let out = match client
        .list_tags_for_resource()
        .resource_arn(alarm_arn)
        .send()
        .await
        .aws("ListTagsForResource")
    {
        Ok(out) => out,
        Err(err) if err.is_code("ResourceNotFoundException") || err.is_code("ResourceNotFound") => {
            return Ok(Tags::new());
        }
        Err(err) => return Err(err),
    };
    Ok(out
        .tags()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::list_tags_for_resource::{
        ListTagsForResourceError, ListTagsForResourceOutput,
    };
    use aws_sdk_cloudwatch::types::Tag;
    use aws_sdk_cloudwatch::types::error::ResourceNotFoundException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const ALARM: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:sagekeeper-drift-x";

    // Mocks for the "not found" answer; tags of existing alarms are read against the emulator
    // in tests/retrainer.rs.
    #[tokio::test]
    async fn reads_tags_and_treats_a_deleted_alarm_as_untagged() {
        let found = mock!(Client::list_tags_for_resource)
            .match_requests(|r| r.resource_arn() == Some(ALARM))
            .then_output(|| {
                ListTagsForResourceOutput::builder()
                    .tags(
                        Tag::builder()
                            .key("sagekeeper:retrain-pipeline")
                            .value("p")
                            .build(),
                    )
                    .build()
            });
        let gone = mock!(Client::list_tags_for_resource).then_error(|| {
            ListTagsForResourceError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .build(),
                    )
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&found, &gone]);
        let tags = tags(&client, ALARM).await.unwrap();
        assert_eq!(tags["sagekeeper:retrain-pipeline"], "p");
        assert!(
            super::tags(
                &client,
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:gone"
            )
            .await
            .unwrap()
            .is_empty()
        );
    }
}
