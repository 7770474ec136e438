//! Log retention: SageMaker log groups that keep their events forever get the configured
//! retention; a retention someone chose is left as it is.

use sagekeeper_core::cloudwatch::log_groups::LogGroup;

/// SageMaker writes training, processing, transform, endpoint and notebook logs here.
pub const SAGEMAKER_LOG_PREFIX: &str = "/aws/sagemaker/";

/// The groups to give a retention to.
pub fn unretained(groups: &[LogGroup]) -> Vec<&LogGroup> {
    groups
        .iter()
        .filter(|g| g.name.starts_with(SAGEMAKER_LOG_PREFIX) && g.retention_days.is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, retention_days: Option<i32>) -> LogGroup {
        LogGroup {
            name: name.to_owned(),
            arn: format!("arn:aws:logs:eu-west-3:123456789012:log-group:{name}"),
            retention_days,
        }
    }

    #[test]
    fn only_sagemaker_groups_without_retention() {
        let groups = [
            group("/aws/sagemaker/TrainingJobs", None),
            group("/aws/sagemaker/Endpoints/fraud", Some(14)),
            group("/aws/sagemaker/ProcessingJobs", Some(3653)),
            group("/aws/lambda/other", None),
        ];
        let names: Vec<&str> = unretained(&groups)
            .iter()
            .map(|g| g.name.as_str())
            .collect();
        assert_eq!(names, ["/aws/sagemaker/TrainingJobs"]);
    }
}
