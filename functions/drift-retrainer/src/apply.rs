//! Carrying out the plan: at most one write (the start), through the report, so a dry run
//! starts nothing. What the report says about it comes from plan.rs.

use sagekeeper_core::Report;
use sagekeeper_core::run::plan::Plan;
use sagekeeper_core::sagemaker::{pipelines, training};

use crate::clients::Clients;
use crate::plan::{JOB_EXISTS, RetrainWrite, Started};

pub async fn apply(clients: &Clients, plan: Plan<RetrainWrite>, report: &mut Report) {
    for (resource, write) in plan.record(report) {
        let action = write.action();
        let performed = match &write {
            RetrainWrite::StartPipeline(retrain) => {
                let start = pipelines::start(&clients.sagemaker, &retrain.start);
                let started = report.perform(&resource, action, start).await;
                started.map(Ok)
            }
            RetrainWrite::CreateTrainingJob(retrain) => {
                // The name is the transition's: a job of that name is another delivery's start.
                let create = async {
                    match training::create(&clients.sagemaker, &retrain.start).await {
                        Ok(arn) => Ok(Ok(arn)),
                        Err(err) if err.is_code("ResourceInUse") => Ok(Err(JOB_EXISTS.to_owned())),
                        Err(err) => Err(err),
                    }
                };
                report.perform_or_skip(&resource, action, create).await
            }
        };
        let started = Started::of(performed, report.dry_run);
        if let Some(metric) = started.counted_in() {
            report.add_metric(metric, 1.0);
        }
        report.headline = Some(write.headline(&started));
    }
}
