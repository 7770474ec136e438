//! Gathering what the decision needs, through the core's thin adapters: which target the
//! alarm names (configuration, alarm tags, endpoint tags), that target and its recent
//! retrains, and the violation report of the monitoring execution behind the alarm.

use chrono::{DateTime, Utc};
use sagekeeper_core::aws::AwsError;
use sagekeeper_core::events::AlarmChange;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::report::ReportableError;
use sagekeeper_core::s3::objects::{self, S3Uri};
use sagekeeper_core::sagemaker::monitoring::{self, ExecutionQuery};
use sagekeeper_core::sagemaker::pipelines::{self, PipelineError};
use sagekeeper_core::sagemaker::{endpoints, tags, training};
use sagekeeper_core::{Report, cloudwatch::alarm_tags};

use crate::clients::Clients;
use crate::config::Config;
use crate::key::RetrainKey;
use crate::plan::{self, PastRun, RETRAIN_KEY_TAG, RETRAINED_FROM_TAG, Situation, TargetState};
use crate::target::{self, Resolution, RetrainTarget};
use crate::violations::{REPORT_FILE, ViolationReport, Why, summarize};

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

impl ReportableError for GatherError {
    fn kind(&self) -> &'static str {
        match self {
            GatherError::Aws(e) => e.kind(),
            GatherError::Pipeline(e) => e.kind(),
        }
    }
    fn retryable(&self) -> bool {
        match self {
            GatherError::Aws(e) => e.retryable,
            GatherError::Pipeline(e) => e.retryable(),
        }
    }
}

/// A Model Monitor report is a few kilobytes; anything far larger is not one.
const MAX_REPORT_BYTES: usize = 5 * 1024 * 1024;

/// What the decision needs, or `None` when it cannot be known (the error is in the report):
/// without the target's history, starting anything could start a second retrain.
pub async fn situation(
    clients: &Clients,
    config: &Config,
    alarm: &AlarmChange,
    report: &mut Report,
) -> Option<Situation> {
    let endpoint = alarm.dimension("Endpoint").map(str::to_owned);
    let schedule = alarm.dimension("MonitoringSchedule").map(str::to_owned);
    let gathered = async {
        let resolution = resolve(clients, config, alarm, endpoint.as_deref()).await?;
        target_state(clients, alarm, resolution).await
    };
    let target = report.keep(Some(&plan::alarm_resource(alarm)), gathered.await)?;
    let why = match &target {
        TargetState::Pipeline { .. } | TargetState::Job { .. } => {
            why(
                clients,
                config,
                alarm,
                endpoint.as_deref(),
                schedule.as_deref(),
            )
            .await
        }
        _ => Why::Unavailable("not looked for: there is nothing to retrain".to_owned()),
    };
    Some(Situation {
        endpoint,
        schedule,
        target,
        why,
    })
}

async fn resolve(
    clients: &Clients,
    config: &Config,
    alarm: &AlarmChange,
    endpoint: Option<&str>,
) -> Result<Resolution, GatherError> {
    let alarm_tags = match &alarm.alarm_arn {
        Some(arn) => alarm_tags::tags(&clients.cloudwatch, arn).await?,
        None => Tags::new(),
    };
    let endpoint_tags = match endpoint {
        Some(name) => match endpoints::describe(&clients.sagemaker, name).await? {
            Some(found) => tags::list(&clients.sagemaker, &found.arn).await?,
            None => Tags::new(),
        },
        None => Tags::new(),
    };
    Ok(target::resolve(
        endpoint,
        &config.targets,
        &alarm_tags,
        &endpoint_tags,
    ))
}

async fn target_state(
    clients: &Clients,
    alarm: &AlarmChange,
    resolution: Resolution,
) -> Result<TargetState, GatherError> {
    let since = plan::history_start(alarm.changed_at);
    let resolved = match resolution {
        Resolution::NotNamed => return Ok(TargetState::NotNamed),
        Resolution::Invalid { source, message } => {
            return Ok(TargetState::Invalid { source, message });
        }
        Resolution::Found(resolved) => resolved,
    };
    let state = match &resolved.target {
        RetrainTarget::Pipeline(name) => match pipelines::describe(&clients.sagemaker, name).await?
        {
            None => TargetState::Missing(resolved),
            Some(pipeline) => TargetState::Pipeline {
                history: pipeline_history(clients, name, since).await?,
                pipeline,
            },
        },
        RetrainTarget::TrainingJob(name) => {
            match training::describe(&clients.sagemaker, name).await? {
                None => TargetState::Missing(resolved),
                Some(source) => TargetState::Job {
                    history: job_history(clients, &source.definition.name, since).await?,
                    source: Box::new(source),
                },
            }
        }
    };
    Ok(state)
}

/// Reads the target's history again, e.g. once the per-target lock is held: another run may
/// have started a retrain since the first read.
pub async fn refresh_history(
    clients: &Clients,
    alarm: &AlarmChange,
    target: &mut TargetState,
) -> Result<(), GatherError> {
    let since = plan::history_start(alarm.changed_at);
    match target {
        TargetState::Pipeline { pipeline, history } => {
            *history = pipeline_history(clients, &pipeline.name, since).await?;
        }
        TargetState::Job { source, history } => {
            *history = job_history(clients, &source.definition.name, since).await?;
        }
        _ => {}
    }
    Ok(())
}

/// Every execution of the pipeline counts, manual ones too.
async fn pipeline_history(
    clients: &Clients,
    pipeline: &str,
    since: DateTime<Utc>,
) -> Result<Vec<PastRun>, GatherError> {
    Ok(
        pipelines::executions_since(&clients.sagemaker, pipeline, since)
            .await?
            .into_iter()
            .map(|e| PastRun {
                running: e.is_running(),
                arn: e.arn,
                name: e.display_name.unwrap_or_default(),
                description: e.description,
                started_at: e.started_at,
                key: None,
            })
            .collect(),
    )
}

/// The copies of `source`: jobs tagged `sagekeeper:retrained-from=<source>`, exactly. The name
/// prefix only narrows the listing: `card-fraud`'s copies (`card-fraud-rt-…`) contain
/// `fraud-rt-`, and two long names may share their first 49 characters.
async fn job_history(
    clients: &Clients,
    source: &str,
    since: DateTime<Utc>,
) -> Result<Vec<PastRun>, GatherError> {
    let prefix = RetrainKey::job_prefix(source);
    let mut history = Vec::new();
    for job in training::list_named(&clients.sagemaker, &prefix, since).await? {
        let tags = tags::list(&clients.sagemaker, &job.arn).await?;
        if tags.get(RETRAINED_FROM_TAG).map(String::as_str) != Some(source) {
            continue;
        }
        history.push(PastRun {
            running: job.is_running(),
            key: tags.get(RETRAIN_KEY_TAG).cloned(),
            arn: job.arn,
            name: job.name,
            description: None,
            started_at: job.created_at,
        });
    }
    Ok(history)
}

/// The latest finished monitoring execution before the alarm, and its violations. Never an
/// error: a retrain does not wait for an explanation, so any failure is "unavailable".
async fn why(
    clients: &Clients,
    config: &Config,
    alarm: &AlarmChange,
    endpoint: Option<&str>,
    schedule: Option<&str>,
) -> Why {
    let query = ExecutionQuery {
        schedule,
        endpoint,
        before: alarm.changed_at,
    };
    let execution = match monitoring::latest_finished(&clients.sagemaker, query).await {
        Ok(Some(execution)) => execution,
        Ok(None) => {
            let of = schedule
                .map(|s| format!("schedule {s}"))
                .or_else(|| endpoint.map(|e| format!("endpoint {e}")))
                .unwrap_or_else(|| "the alarm (it names no schedule or endpoint)".to_owned());
            return unavailable(format!(
                "no finished Model Monitor execution of {of} before the alarm"
            ));
        }
        Err(err) => {
            return unavailable(format!(
                "the latest monitoring execution could not be read: {err}"
            ));
        }
    };
    let Some(output) = execution.output_uri.as_deref() else {
        return unavailable(format!(
            "monitoring execution {} has no S3 output",
            execution.processing_job_arn
        ));
    };
    let output = match S3Uri::parse(output) {
        Ok(output) => output,
        Err(err) => return unavailable(format!("the output of the monitoring execution: {err}")),
    };
    let uri = output.join(REPORT_FILE);
    match objects::get_json::<ViolationReport>(&clients.s3, &uri, MAX_REPORT_BYTES).await {
        Ok(Some(found)) => Why::Report {
            uri: uri.to_string(),
            summary: summarize(&found, config.violations_top_n),
        },
        Ok(None) => unavailable(format!("{uri} does not exist")),
        Err(err) => unavailable(format!("{uri} could not be read: {err}")),
    }
}

fn unavailable(reason: String) -> Why {
    tracing::warn!(%reason, "violation report unavailable");
    Why::Unavailable(reason)
}
