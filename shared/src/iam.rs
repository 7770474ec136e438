//! IAM: the tags of a role, which say who owns what that role creates (team, cost center).

use aws_sdk_iam::Client;

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;

/// The role's tags; `None` when there is no such role (deleted, or in another account).
/// `role_name` is the name alone: role names are unique in an account whatever their path.
pub async fn role_tags(client: &Client, role_name: &str) -> Result<Option<Tags>, AwsError> {
    let mut pages = client
        .list_role_tags()
        .role_name(role_name)
        .into_paginator()
        .send();
    let mut tags = Tags::new();
    while let Some(page) = pages.next().await {
        match page.aws("ListRoleTags") {
            Ok(page) => tags.extend(page.tags.into_iter().map(|t| (t.key, t.value))),
            Err(err) if err.is_code("NoSuchEntity") => return Ok(None),
            Err(err) => return Err(err),
        }
    }
    Ok(Some(tags))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::list_role_tags::{ListRoleTagsError, ListRoleTagsOutput};
    use aws_sdk_iam::types::Tag;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    // The emulator answers ListRoleTags in one page; the Marker-driven pagination of a role
    // with many tags is checked against a mock.
    #[tokio::test]
    async fn reads_every_page_and_a_missing_role_is_none() {
        let first = mock!(Client::list_role_tags)
            .match_requests(|r| r.role_name() == Some("DataScientist") && r.marker().is_none())
            .then_output(|| {
                ListRoleTagsOutput::builder()
                    .tags(Tag::builder().key("Team").value("fraud").build().unwrap())
                    .is_truncated(true)
                    .marker("m1")
                    .build()
                    .unwrap()
            });
        let second = mock!(Client::list_role_tags)
            .match_requests(|r| r.marker() == Some("m1"))
            .then_output(|| {
                ListRoleTagsOutput::builder()
                    .tags(
                        Tag::builder()
                            .key("CostCenter")
                            .value("cc-7")
                            .build()
                            .unwrap(),
                    )
                    .is_truncated(false)
                    .build()
                    .unwrap()
            });
        let missing = mock!(Client::list_role_tags)
            .match_requests(|r| r.role_name() == Some("Gone"))
            .then_error(|| {
                ListRoleTagsError::generic(ErrorMetadata::builder().code("NoSuchEntity").build())
            });
        let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second, &missing]);
        let tags = role_tags(&client, "DataScientist").await.unwrap().unwrap();
        assert_eq!(tags["Team"], "fraud");
        assert_eq!(tags["CostCenter"], "cc-7");
        assert_eq!(role_tags(&client, "Gone").await.unwrap(), None);
    }
}
