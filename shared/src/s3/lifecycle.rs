//! Reading and writing a bucket's lifecycle configuration, converting S3's types to and from
//! the plain ones of `crate::model::lifecycle`, where the merge is decided.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    NoncurrentVersionExpiration, NoncurrentVersionTransition, Tag, Transition as SdkTransition,
    TransitionDefaultMinimumObjectSize, TransitionStorageClass,
};
use aws_smithy_types::DateTime as SmithyDateTime;

use crate::aws::{AwsError, AwsResultExt};
use crate::model::lifecycle::{
    AndFilter, Expiration, Filter, LifecycleConfig, MergeError, MergePlan, NoncurrentExpiration,
    NoncurrentTransition, Rule, Transition, merge,
};
use crate::run::report::ReportableError;

/// The bucket's configuration; a bucket without one has no rules.
pub async fn get(client: &Client, bucket: &str) -> Result<LifecycleConfig, AwsError> {
    let out = match client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .aws("GetBucketLifecycleConfiguration")
    {
        Ok(out) => out,
        Err(err) if err.is_code("NoSuchLifecycleConfiguration") => {
            return Ok(LifecycleConfig::default());
        }
        Err(err) => return Err(err),
    };
    Ok(LifecycleConfig {
        rules: out.rules().iter().map(rule_from_sdk).collect(),
        transition_default_minimum_object_size: out
            .transition_default_minimum_object_size()
            .map(|s| s.as_str().to_owned()),
    })
}

/// Replaces the bucket's whole configuration with `config`.
pub async fn put(
    client: &Client,
    bucket: &str,
    config: &LifecycleConfig,
) -> Result<(), LifecycleError> {
    let rules = config
        .rules
        .iter()
        .map(rule_to_sdk)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid_request(bucket, e))?;
    let lifecycle = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| invalid_request(bucket, e))?;
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(lifecycle)
        .set_transition_default_minimum_object_size(
            config
                .transition_default_minimum_object_size
                .as_deref()
                .map(TransitionDefaultMinimumObjectSize::from),
        )
        .send()
        .await
        .aws("PutBucketLifecycleConfiguration")?;
    Ok(())
}

/// Reads the bucket's configuration again, merges `ours` into it and writes it when that
/// changes anything. Reading right before writing keeps a rule the owner added since the
/// run's plan. Returns what changed (`None`: already in place).
pub async fn put_merged(
    client: &Client,
    bucket: &str,
    ours: &[Rule],
    prefix: &str,
) -> Result<Option<MergePlan>, LifecycleError> {
    let existing = get(client, bucket).await?;
    let plan = merge(&existing, ours, prefix).map_err(|source| LifecycleError::Merge {
        bucket: bucket.to_owned(),
        source,
    })?;
    if let Some(plan) = &plan {
        put(client, bucket, &plan.config).await?;
    }
    Ok(plan)
}

fn invalid_request(bucket: &str, err: impl std::fmt::Display) -> LifecycleError {
    LifecycleError::Unwritable {
        bucket: bucket.to_owned(),
        reason: err.to_string(),
    }
}

/// Why a bucket's lifecycle configuration was not written.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Our rules cannot join the owner's (an id without our prefix, too many rules).
    #[error("{bucket}: {source}")]
    Merge {
        bucket: String,
        #[source]
        source: MergeError,
    },
    /// A rule read from the bucket that the SDK cannot build again.
    #[error("{bucket}: {reason}")]
    Unwritable { bucket: String, reason: String },
}

impl ReportableError for LifecycleError {
    fn kind(&self) -> &'static str {
        match self {
            LifecycleError::Aws(err) => err.kind(),
            LifecycleError::Merge { .. } => "lifecycle-merge",
            LifecycleError::Unwritable { .. } => "lifecycle-unwritable",
        }
    }
    fn retryable(&self) -> bool {
        matches!(self, LifecycleError::Aws(err) if err.retryable())
    }
}

fn tag_pair(tag: &Tag) -> (String, String) {
    (tag.key().to_owned(), tag.value().to_owned())
}

fn sdk_tag(
    (key, value): &(String, String),
) -> Result<Tag, aws_smithy_types::error::operation::BuildError> {
    Tag::builder().key(key).value(value).build()
}

fn rule_from_sdk(rule: &LifecycleRule) -> Rule {
    Rule {
        id: rule.id().map(str::to_owned),
        status: rule.status().as_str().to_owned(),
        filter: rule.filter().map(|f| Filter {
            prefix: f.prefix().map(str::to_owned),
            tag: f.tag().map(tag_pair),
            object_size_greater_than: f.object_size_greater_than(),
            object_size_less_than: f.object_size_less_than(),
            and: f.and().map(|a| AndFilter {
                prefix: a.prefix().map(str::to_owned),
                tags: a.tags().iter().map(tag_pair).collect(),
                object_size_greater_than: a.object_size_greater_than(),
                object_size_less_than: a.object_size_less_than(),
            }),
        }),
        #[allow(deprecated)]
        prefix: rule.prefix().map(str::to_owned),
        expiration: rule.expiration().map(|e| Expiration {
            date: e.date().map(SmithyDateTime::secs),
            days: e.days(),
            expired_object_delete_marker: e.expired_object_delete_marker(),
        }),
        transitions: rule
            .transitions()
            .iter()
            .map(|t| Transition {
                date: t.date().map(SmithyDateTime::secs),
                days: t.days(),
                storage_class: t.storage_class().map(|c| c.as_str().to_owned()),
            })
            .collect(),
        noncurrent_version_transitions: rule
            .noncurrent_version_transitions()
            .iter()
            .map(|t| NoncurrentTransition {
                noncurrent_days: t.noncurrent_days(),
                storage_class: t.storage_class().map(|c| c.as_str().to_owned()),
                newer_noncurrent_versions: t.newer_noncurrent_versions(),
            })
            .collect(),
        noncurrent_version_expiration: rule.noncurrent_version_expiration().map(|e| {
            NoncurrentExpiration {
                noncurrent_days: e.noncurrent_days(),
                newer_noncurrent_versions: e.newer_noncurrent_versions(),
            }
        }),
        abort_incomplete_multipart_upload_days: rule
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
    }
}

fn rule_to_sdk(
    rule: &Rule,
) -> Result<LifecycleRule, aws_smithy_types::error::operation::BuildError> {
    let filter = match &rule.filter {
        None => None,
        Some(f) => Some(
            LifecycleRuleFilter::builder()
                .set_prefix(f.prefix.clone())
                .set_tag(f.tag.as_ref().map(sdk_tag).transpose()?)
                .set_object_size_greater_than(f.object_size_greater_than)
                .set_object_size_less_than(f.object_size_less_than)
                .set_and(match &f.and {
                    None => None,
                    Some(a) => Some(
                        LifecycleRuleAndOperator::builder()
                            .set_prefix(a.prefix.clone())
                            .set_tags(Some(
                                a.tags.iter().map(sdk_tag).collect::<Result<Vec<_>, _>>()?,
                            ))
                            .set_object_size_greater_than(a.object_size_greater_than)
                            .set_object_size_less_than(a.object_size_less_than)
                            .build(),
                    ),
                })
                .build(),
        ),
    };
    #[allow(deprecated)]
    let builder = LifecycleRule::builder().set_prefix(rule.prefix.clone());
    builder
        .set_id(rule.id.clone())
        .status(ExpirationStatus::from(rule.status.as_str()))
        .set_filter(filter)
        .set_expiration(rule.expiration.as_ref().map(|e| {
            LifecycleExpiration::builder()
                .set_date(e.date.map(SmithyDateTime::from_secs))
                .set_days(e.days)
                .set_expired_object_delete_marker(e.expired_object_delete_marker)
                .build()
        }))
        .set_transitions((!rule.transitions.is_empty()).then(|| {
            rule.transitions
                .iter()
                .map(|t| {
                    SdkTransition::builder()
                        .set_date(t.date.map(SmithyDateTime::from_secs))
                        .set_days(t.days)
                        .set_storage_class(
                            t.storage_class.as_deref().map(TransitionStorageClass::from),
                        )
                        .build()
                })
                .collect()
        }))
        .set_noncurrent_version_transitions((!rule.noncurrent_version_transitions.is_empty()).then(
            || {
                rule.noncurrent_version_transitions
                    .iter()
                    .map(|t| {
                        NoncurrentVersionTransition::builder()
                            .set_noncurrent_days(t.noncurrent_days)
                            .set_storage_class(
                                t.storage_class.as_deref().map(TransitionStorageClass::from),
                            )
                            .set_newer_noncurrent_versions(t.newer_noncurrent_versions)
                            .build()
                    })
                    .collect()
            },
        ))
        .set_noncurrent_version_expiration(rule.noncurrent_version_expiration.as_ref().map(|e| {
            NoncurrentVersionExpiration::builder()
                .set_noncurrent_days(e.noncurrent_days)
                .set_newer_noncurrent_versions(e.newer_noncurrent_versions)
                .build()
        }))
        .set_abort_incomplete_multipart_upload(rule.abort_incomplete_multipart_upload_days.map(
            |days| {
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(days)
                    .build()
            },
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lifecycle::tests::{PREFIX, config, ours, owner_rule, rich_owner_rule};
    use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::{
        GetBucketLifecycleConfigurationError, GetBucketLifecycleConfigurationOutput,
    };
    use aws_sdk_s3::operation::put_bucket_lifecycle_configuration::PutBucketLifecycleConfigurationOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    #[test]
    fn rules_survive_the_sdk_round_trip() {
        for rule in [owner_rule(), rich_owner_rule(), ours("sagekeeper-x", 30)] {
            let sdk = rule_to_sdk(&rule).unwrap();
            assert_eq!(rule_from_sdk(&sdk), rule);
        }
    }

    // The emulator drops fields of the owner's rules (NewerNoncurrentVersions of a noncurrent
    // expiration, object-size filters), so what is written back is checked against mocks: the
    // owner's rule must reach PutBucketLifecycleConfiguration field for field.
    #[tokio::test]
    async fn put_merged_writes_the_owners_rules_back_field_for_field() {
        let existing = config(vec![rich_owner_rule()]);
        let existing_sdk: Vec<LifecycleRule> = existing
            .rules
            .iter()
            .map(|r| rule_to_sdk(r).unwrap())
            .collect();
        let get_rule = mock!(Client::get_bucket_lifecycle_configuration).then_output(move || {
            GetBucketLifecycleConfigurationOutput::builder()
                .set_rules(Some(existing_sdk.clone()))
                .transition_default_minimum_object_size(
                    TransitionDefaultMinimumObjectSize::AllStorageClasses128K,
                )
                .build()
        });
        let put_rule = mock!(Client::put_bucket_lifecycle_configuration)
            .match_requests(|req| {
                let rules: Vec<Rule> = req
                    .lifecycle_configuration()
                    .map(|c| c.rules().iter().map(rule_from_sdk).collect())
                    .unwrap_or_default();
                rules == vec![rich_owner_rule(), ours("sagekeeper-training-data", 30)]
                    && req.transition_default_minimum_object_size()
                        == Some(&TransitionDefaultMinimumObjectSize::AllStorageClasses128K)
            })
            .then_output(|| PutBucketLifecycleConfigurationOutput::builder().build());
        let client = mock_client!(aws_sdk_s3, [&get_rule, &put_rule]);
        let plan = put_merged(
            &client,
            "b",
            &[ours("sagekeeper-training-data", 30)],
            PREFIX,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(plan.added, ["sagekeeper-training-data"]);
        assert_eq!(put_rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_bucket_without_configuration_has_no_rules_and_nothing_is_written_twice() {
        let missing = mock!(Client::get_bucket_lifecycle_configuration).then_error(|| {
            GetBucketLifecycleConfigurationError::generic(
                ErrorMetadata::builder()
                    .code("NoSuchLifecycleConfiguration")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_s3, [&missing]);
        assert_eq!(get(&client, "b").await.unwrap(), LifecycleConfig::default());

        let wanted = ours("sagekeeper-temp", 30);
        let sdk_rule = rule_to_sdk(&wanted).unwrap();
        let in_place = mock!(Client::get_bucket_lifecycle_configuration).then_output(move || {
            GetBucketLifecycleConfigurationOutput::builder()
                .rules(sdk_rule.clone())
                .build()
        });
        let put_rule = mock!(Client::put_bucket_lifecycle_configuration)
            .then_output(|| PutBucketLifecycleConfigurationOutput::builder().build());
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&in_place, &put_rule]);
        assert_eq!(
            put_merged(&client, "b", &[wanted], PREFIX).await.unwrap(),
            None
        );
        assert_eq!(put_rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_rule_that_cannot_join_is_a_typed_merge_error_and_nothing_is_written() {
        let empty = mock!(Client::get_bucket_lifecycle_configuration)
            .then_output(|| GetBucketLifecycleConfigurationOutput::builder().build());
        let put_rule = mock!(Client::put_bucket_lifecycle_configuration)
            .then_output(|| PutBucketLifecycleConfigurationOutput::builder().build());
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&empty, &put_rule]);

        let err = put_merged(&client, "b", &[owner_rule()], PREFIX)
            .await
            .unwrap_err();

        assert!(matches!(err, LifecycleError::Merge { .. }), "{err}");
        assert_eq!(err.kind(), "lifecycle-merge");
        assert!(!err.retryable());
        assert_eq!(put_rule.num_calls(), 0);
        // Control: a rule of ours is written.
        put_merged(&client, "b", &[ours("sagekeeper-temp", 30)], PREFIX)
            .await
            .unwrap();
        assert_eq!(put_rule.num_calls(), 1);
    }
}
