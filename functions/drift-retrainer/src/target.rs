//! What a drift alarm retrains: a SageMaker pipeline (preferred) or a copy of a training job,
//! named by configuration, by the alarm's tags or by the endpoint's tags, in that order.

use std::collections::BTreeMap;
use std::fmt;

use sagekeeper_core::Arn;
use sagekeeper_core::model::tags::Tags;
use serde::Deserialize;

pub const PIPELINE_TAG: &str = "sagekeeper:retrain-pipeline";
pub const JOB_TAG: &str = "sagekeeper:retrain-from-job";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RetrainTarget {
    /// Start an execution of this pipeline.
    Pipeline(String),
    /// Create a spot copy of this training job.
    TrainingJob(String),
}

impl RetrainTarget {
    pub fn name(&self) -> &str {
        match self {
            RetrainTarget::Pipeline(name) | RetrainTarget::TrainingJob(name) => name,
        }
    }

    /// Names as SageMaker accepts them: letters, digits and inner hyphens, up to 256
    /// characters for a pipeline and 63 for a training job.
    pub fn validate(&self) -> Result<(), String> {
        let (max, what) = match self {
            RetrainTarget::Pipeline(_) => (256, "pipeline"),
            RetrainTarget::TrainingJob(_) => (63, "training job"),
        };
        let name = self.name();
        let valid = (1..=max).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if valid {
            Ok(())
        } else {
            Err(format!(
                "{name:?} is not a {what} name (letters, digits and hyphens, at most {max})"
            ))
        }
    }
}

impl fmt::Display for RetrainTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetrainTarget::Pipeline(name) => write!(f, "pipeline {name}"),
            RetrainTarget::TrainingJob(name) => write!(f, "a spot copy of training job {name}"),
        }
    }
}

/// Where the target was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Config,
    AlarmTag,
    EndpointTag,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Config => "RETRAIN_TARGETS",
            Source::AlarmTag => "the alarm's tags",
            Source::EndpointTag => "the endpoint's tags",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub target: RetrainTarget,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Found(Resolved),
    /// Nothing names a target.
    NotNamed,
    /// The first source that names a target names it badly; later sources are not consulted,
    /// as they are meant to be overridden by it.
    Invalid {
        source: Source,
        message: String,
    },
}

/// The target for `endpoint`: configuration first (the operator's word), then the alarm's
/// tags (the most specific), then the endpoint's tags. Within a set of tags, a pipeline wins
/// over a training job.
pub fn resolve(
    endpoint: Option<&str>,
    configured: &BTreeMap<String, RetrainTarget>,
    alarm_tags: &Tags,
    endpoint_tags: &Tags,
) -> Resolution {
    if let Some(target) = endpoint.and_then(|e| configured.get(e)) {
        return Resolution::Found(Resolved {
            target: target.clone(),
            source: Source::Config,
        });
    }
    for (source, tags) in [
        (Source::AlarmTag, alarm_tags),
        (Source::EndpointTag, endpoint_tags),
    ] {
        match from_tags(tags) {
            Some(Ok(target)) => return Resolution::Found(Resolved { target, source }),
            Some(Err(message)) => return Resolution::Invalid { source, message },
            None => {}
        }
    }
    Resolution::NotNamed
}

/// The target the tags name, if any. A tag value may be a name or an ARN of the resource.
fn from_tags(tags: &Tags) -> Option<Result<RetrainTarget, String>> {
    let (tag, target) = if let Some(value) = tags.get(PIPELINE_TAG) {
        (
            PIPELINE_TAG,
            RetrainTarget::Pipeline(name_of(value, "pipeline")),
        )
    } else {
        let value = tags.get(JOB_TAG)?;
        (
            JOB_TAG,
            RetrainTarget::TrainingJob(name_of(value, "training-job")),
        )
    };
    Some(
        target
            .validate()
            .map(|()| target)
            .map_err(|e| format!("tag {tag}: {e}")),
    )
}

/// `arn:aws:sagemaker:…:pipeline/NAME` → `NAME`; anything else as it is (trimmed).
fn name_of(value: &str, arn_type: &str) -> String {
    let value = value.trim();
    match Arn::parse(value) {
        Ok(arn) if arn.resource_type() == Some(arn_type) => arn.resource_name().to_owned(),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use sagekeeper_core::model::tags::from_pairs as tags;

    fn found(target: RetrainTarget, source: Source) -> Resolution {
        Resolution::Found(Resolved { target, source })
    }

    #[test]
    fn configuration_then_alarm_tags_then_endpoint_tags() {
        let configured = BTreeMap::from([(
            "fraud".to_owned(),
            RetrainTarget::TrainingJob("from-config".into()),
        )]);
        let alarm = tags(&[(PIPELINE_TAG, "from-alarm")]);
        let endpoint = tags(&[(PIPELINE_TAG, "from-endpoint")]);
        let none = Tags::new();

        assert_eq!(
            resolve(Some("fraud"), &configured, &alarm, &endpoint),
            found(
                RetrainTarget::TrainingJob("from-config".into()),
                Source::Config
            )
        );
        assert_eq!(
            resolve(Some("other"), &configured, &alarm, &endpoint),
            found(
                RetrainTarget::Pipeline("from-alarm".into()),
                Source::AlarmTag
            )
        );
        assert_eq!(
            resolve(Some("other"), &configured, &none, &endpoint),
            found(
                RetrainTarget::Pipeline("from-endpoint".into()),
                Source::EndpointTag
            )
        );
        assert_eq!(
            resolve(Some("other"), &configured, &none, &none),
            Resolution::NotNamed
        );
        // Without an Endpoint dimension only the alarm can name a target.
        assert_eq!(
            resolve(None, &configured, &alarm, &none),
            found(
                RetrainTarget::Pipeline("from-alarm".into()),
                Source::AlarmTag
            )
        );
    }

    #[test]
    fn a_pipeline_wins_over_a_job_and_arns_are_accepted() {
        let both = tags(&[
            (JOB_TAG, "churn-xgb"),
            (
                PIPELINE_TAG,
                "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-retrain",
            ),
        ]);
        assert_eq!(
            resolve(Some("e"), &BTreeMap::new(), &Tags::new(), &both),
            found(
                RetrainTarget::Pipeline("churn-retrain".into()),
                Source::EndpointTag
            )
        );
        let job = tags(&[(
            JOB_TAG,
            " arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-xgb ",
        )]);
        assert_eq!(
            resolve(Some("e"), &BTreeMap::new(), &Tags::new(), &job),
            found(
                RetrainTarget::TrainingJob("churn-xgb".into()),
                Source::EndpointTag
            )
        );
    }

    #[test]
    fn a_bad_tag_value_is_reported_not_skipped() {
        let bad = tags(&[(PIPELINE_TAG, "not a name")]);
        let good = tags(&[(PIPELINE_TAG, "fine")]);
        let Resolution::Invalid { source, message } =
            resolve(Some("e"), &BTreeMap::new(), &bad, &good)
        else {
            panic!("expected an invalid resolution")
        };
        assert_eq!(source, Source::AlarmTag);
        assert!(message.contains(PIPELINE_TAG), "{message}");
        assert!(
            RetrainTarget::TrainingJob("x".repeat(64))
                .validate()
                .is_err()
        );
        assert!(RetrainTarget::Pipeline("x".repeat(64)).validate().is_ok());
        assert!(RetrainTarget::Pipeline("-x".into()).validate().is_err());
    }
}
