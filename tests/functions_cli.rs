//! The four function binaries run from a shell, as an operator (and the demo) runs them:
//! arguments, configuration errors, malformed events, and their first real work against the
//! local emulator.

use sagekeeper_core::Outcome;
use serde_json::Value;

mod support;
use support::reports::ReportExt;
use support::{aws, run_function, run_function_at, unique};

const FUNCTIONS: &[&str] = &[
    "endpoint-scheduler",
    "encryption-enforcer",
    "drift-retrainer",
    "lifecycle-tagger",
];
/// The smallest valid configuration per function.
fn base_env(function: &str) -> Vec<(&'static str, &'static str)> {
    match function {
        "endpoint-scheduler" => vec![("STATE_BUCKET", "sagekeeper-state")],
        _ => vec![],
    }
}

fn sample_for(function: &str) -> &'static str {
    match function {
        "drift-retrainer" => "alarm-eventbridge.json",
        _ => "scheduled.json",
    }
}

/// Nothing listens here: a function that tried any AWS call would report a failed call.
const CLOSED_ENDPOINT: &str = "http://127.0.0.1:9";

#[test]
fn help_explains_both_ways_to_run() {
    for function in FUNCTIONS {
        let out = std::process::Command::new(support::binary(function))
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("usage: {function} --event FILE|- [--dry-run]")),
            "{text}"
        );
    }
}

#[test]
fn bad_arguments_exit_2() {
    let run = run_function(
        "drift-retrainer",
        "alarm-eventbridge.json",
        &["--bogus"],
        &[],
    );
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("unknown argument \"--bogus\""),
        "{}",
        run.stderr()
    );
    let run = run_function("drift-retrainer", "no-such-event.json", &[], &[]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("cannot read the event file"),
        "{}",
        run.stderr()
    );
}

#[test]
fn invalid_configuration_stops_at_start_naming_the_variable() {
    for function in FUNCTIONS {
        for (var, value) in [
            ("DRY_RUN", "maybe"),
            ("NOTIFY_TOPIC_ARN", "alerts-topic"),
            ("LOG_LEVEL", "loud"),
            ("TARGET_ACCOUNTS", "1234"),
            ("TARGET_REGIONS", "Europe"),
            // The AWS SDK itself would panic on this one.
            ("AWS_ENDPOINT_URL", " "),
        ] {
            let mut env = base_env(function);
            env.push((var, value));
            let run = run_function_at(function, sample_for(function), &[], &env, CLOSED_ENDPOINT);
            assert_eq!(run.code(), 2, "{function} {var}");
            assert!(
                run.stderr()
                    .contains(&format!("invalid configuration: {var}=")),
                "{function}: {}",
                run.stderr()
            );
            assert_eq!(run.json, Value::Null, "no report is printed");
        }
    }
    let run = run_function_at(
        "endpoint-scheduler",
        "scheduled.json",
        &[],
        &[],
        CLOSED_ENDPOINT,
    );
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("STATE_BUCKET is required"),
        "{}",
        run.stderr()
    );
}

#[test]
fn malformed_events_are_typed_errors_and_nothing_is_called() {
    let dir = std::env::temp_dir().join(unique("events"));
    std::fs::create_dir_all(&dir).unwrap();
    let malformed = dir.join("malformed.json");
    std::fs::write(
        &malformed,
        r#"{"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}"#,
    )
    .unwrap();
    for function in FUNCTIONS {
        let run = run_function_at(
            function,
            malformed.to_str().unwrap(),
            &[],
            &base_env(function),
            CLOSED_ENDPOINT,
        );
        assert_eq!(run.code(), 1, "{function}");
        let errors = &run.report().errors;
        assert_eq!(
            errors.len(),
            1,
            "{function}: only the event error, no failed AWS call: {errors:?}"
        );
        assert_eq!(errors[0].kind, "invalid-event");
        assert!(!errors[0].retryable);
        assert!(run.report().actions.is_empty());
    }
}

#[test]
fn a_trigger_of_the_wrong_kind_is_refused_without_calls() {
    let run = run_function_at(
        "drift-retrainer",
        "scheduled.json",
        &[],
        &[],
        CLOSED_ENDPOINT,
    );
    assert_eq!(run.code(), 1);
    assert_eq!(
        run.report().errors[0].message,
        "drift-retrainer does not handle a scheduled event; it handles: CloudWatch alarm state change"
    );
}

#[test]
fn retrainer_reads_every_alarm_shape_and_ignores_ok() {
    let alarm =
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:sagekeeper-drift-fraud-detector-dev";
    for file in [
        "alarm-eventbridge.json",
        "alarm-lambda-action.json",
        "alarm-sns.json",
    ] {
        let run = run_function("drift-retrainer", file, &["--dry-run"], &[]);
        assert_eq!(run.code(), 0, "{file}: {}", run.stderr());
        assert!(run.report().dry_run);
        let findings = run.report().findings_for(alarm);
        assert_eq!(findings.len(), 1, "{file}: {}", run.json);
        assert!(findings[0].message.contains("fraud-detector-dev"));
    }
    let run = run_function("drift-retrainer", "alarm-eventbridge-ok.json", &[], &[]);
    assert_eq!(run.code(), 0);
    assert_eq!(run.report().actions[0].outcome, Outcome::Skipped);
    assert!(run.report().findings.is_empty());
}

#[tokio::test]
async fn enforcer_and_tagger_identify_the_resource_of_an_api_call() {
    // A dry run: the emulator is shared, and the enforcer fixes what it evaluates. The bucket
    // is evaluated when it exists, and noted as gone when it does not.
    let run = run_function(
        "encryption-enforcer",
        "cloudtrail-s3-put-bucket-encryption.json",
        &["--dry-run"],
        &[],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let bucket = "arn:aws:s3:::acme-ml-training-data";
    assert!(
        !run.report().findings_for(bucket).is_empty()
            || !run.report().actions_for(bucket).is_empty(),
        "{}",
        run.json
    );

    // The tagger reads the job's tags (the emulator answers 500 for a job it does not have),
    // so the job the event names is created first; a dry run, as above.
    let sagemaker = aws().await.sagemaker();
    let name = "churn-xgb-2026-11-20";
    if sagemaker
        .describe_training_job()
        .training_job_name(name)
        .send()
        .await
        .is_err()
    {
        support::seed_training_job(&aws().await, support::ACCOUNT, name, &[("Team", "churn")])
            .await;
    }
    let run = run_function(
        "lifecycle-tagger",
        "cloudtrail-sagemaker-create-training-job.json",
        &["--dry-run"],
        &[],
    );
    assert_eq!(run.code(), 0, "{}\n{}", run.json, run.stderr());
    let job = "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-xgb-2026-11-20";
    let findings = run.report().findings_for(job);
    assert!(
        findings[0]
            .message
            .contains("assumed-role/DataScientist/alice")
    );
}

/// A dry enforcer sweep limited to one new bucket, run by `binary` with `env`: it counts the
/// bucket and has findings for it.
async fn assert_enforcer_sweeps_one_bucket(binary: &str, env: &[(&str, &str)]) {
    let aws = aws().await;
    let bucket = unique("sweep");
    aws.s3()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    // A dry run limited to this test's bucket: the enforcer fixes what it sweeps, and the
    // emulator is shared. Its exit status is not checked: the sweep of SageMaker resources
    // covers every test's jobs, some of which the emulator cannot describe completely.
    let mut env = env.to_vec();
    env.push(("BUCKET_PREFIX", bucket.as_str()));
    let run = run_function(binary, "scheduled.json", &["--dry-run"], &env);
    assert_eq!(
        run.report().function,
        "encryption-enforcer",
        "{}",
        run.stderr()
    );
    assert_eq!(run.report().trigger, "schedule");
    assert_eq!(run.report().metric("BucketsInScope"), Some(1.0));
    assert!(
        !run.report()
            .findings_for(&format!("arn:aws:s3:::{bucket}"))
            .is_empty()
    );
}

#[tokio::test]
async fn enforcer_sweep_counts_buckets_in_the_account() {
    assert_enforcer_sweeps_one_bucket("encryption-enforcer", &[]).await;
}

#[tokio::test]
async fn one_summary_message_per_run_and_none_when_nothing_to_say() {
    let aws = aws().await;
    let inbox = support::Inbox::new(&aws).await;
    let env = [("NOTIFY_TOPIC_ARN", inbox.topic_arn.as_str())];

    // An OK transition: nothing to say.
    let run = run_function("drift-retrainer", "alarm-eventbridge-ok.json", &[], &env);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    // An alarm without an Endpoint dimension: a medium finding worth one message.
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo_root().join("events/alarm-eventbridge.json"))
            .unwrap(),
    )
    .unwrap();
    event["detail"]["configuration"]["metrics"] = Value::Array(vec![]);
    let file = std::env::temp_dir().join(format!("{}.json", unique("no-endpoint")));
    std::fs::write(&file, event.to_string()).unwrap();
    let run = run_function("drift-retrainer", file.to_str().unwrap(), &[], &env);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.report().findings[0].rule,
        "drift-alarm-without-endpoint"
    );

    let messages = inbox.envelopes().await;
    assert_eq!(
        messages.len(),
        1,
        "one message for two runs, one of which had nothing to say"
    );
    let envelope = &messages[0];
    assert_eq!(envelope["MessageAttributes"]["severity"]["Value"], "medium");
}

/// ARNs the code builds take the deployment's partition: in a China region a bucket is
/// `arn:aws-cn:s3:::…` (a policy naming `arn:aws:…` there would be refused).
#[tokio::test]
async fn bucket_arns_take_the_partition_of_the_region() {
    for (region, partition) in [("cn-north-1", "aws-cn"), ("us-east-1", "aws")] {
        let bucket = support::unique("sk-partition");
        support::buckets::create_in(&support::aws_in(region).await, region, &bucket).await;
        let mut event: Value = serde_json::from_str(
            &std::fs::read_to_string(
                support::repo_root().join("events/cloudtrail-s3-create-bucket.json"),
            )
            .unwrap(),
        )
        .unwrap();
        event["region"] = Value::from(region);
        event["detail"]["awsRegion"] = Value::from(region);
        event["detail"]["requestParameters"]["bucketName"] = Value::from(bucket.as_str());
        let path = std::env::temp_dir().join(format!("{bucket}.json"));
        std::fs::write(&path, event.to_string()).unwrap();

        let run = support::run_function_in(
            region,
            "encryption-enforcer",
            path.to_str().unwrap(),
            &["--dry-run"],
            &[],
            support::emulator_url(),
        );
        let arn = format!("arn:{partition}:s3:::{bucket}");
        assert!(
            !run.report().findings_for(&arn).is_empty(),
            "{region}: nothing about {arn}: {}",
            run.json
        );
        // Anywhere in what the run printed.
        let text = run.json.to_string();
        let other = if partition == "aws" {
            "arn:aws-cn:"
        } else {
            "arn:aws:"
        };
        assert!(!text.contains(other), "{region}: {text}");
    }
}

/// The problems `scripts/ocsf_validate.py` (the OCSF schema, offline) finds in `lines`.
fn ocsf_problems(lines: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(support::repo_root().join(".venv/bin/python"))
        .arg(support::repo_root().join("scripts/ocsf_validate.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the OCSF validator");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn ocsf_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| value["class_uid"] == 2003)
        .collect()
}

fn uids(events: &[Value]) -> std::collections::BTreeSet<String> {
    events
        .iter()
        .map(|e| e["finding_info"]["uid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn findings_in_ocsf_are_valid_compliance_findings_on_stdout_and_in_the_log() {
    let account = support::sandbox("eu-west-1").await;
    let bucket = unique("ocsf");
    account
        .aws
        .s3()
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let run = account.run(
        "encryption-enforcer",
        "scheduled.json",
        &["--dry-run", "--format", "ocsf"],
        &[],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let stdout = String::from_utf8_lossy(&run.output.stdout).into_owned();
    let events = ocsf_lines(&stdout);
    assert_eq!(
        events.len(),
        stdout.lines().count(),
        "stdout holds only OCSF lines:\n{stdout}"
    );
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let failing: Vec<&Value> = events
        .iter()
        .filter(|e| e["resource"]["uid"] == bucket_arn.as_str())
        .collect();
    assert!(
        failing.iter().any(
            |e| e["compliance"]["control"] == "s3-default-encryption-kms"
                && e["compliance"]["status_id"] == 3
        ),
        "{failing:#?}"
    );
    // A bucket ARN names neither account nor region, and a run at home has no target.
    assert!(
        failing
            .iter()
            .all(|e| e["resource"]["type"] == "AWS::S3::Bucket" && e["cloud"]["provider"] == "AWS"),
        "{failing:#?}"
    );
    let (valid, problems) = ocsf_problems(&stdout);
    assert!(valid, "{problems}");
    // Control: the validator refuses an event that lost a required attribute.
    let broken = stdout.replacen("\"compliance\":", "\"compliancy\":", 1);
    assert!(!ocsf_problems(&broken).0);

    // The log carries the same findings, unless LOG_FINDINGS=false.
    assert_eq!(uids(&ocsf_lines(&run.stderr())), uids(&events));
    let quiet = account.run(
        "encryption-enforcer",
        "scheduled.json",
        &["--dry-run", "--format", "ocsf"],
        &[("LOG_FINDINGS", "false")],
    );
    assert!(ocsf_lines(&quiet.stderr()).is_empty(), "{}", quiet.stderr());
    assert_eq!(
        uids(&ocsf_lines(&String::from_utf8_lossy(&quiet.output.stdout))),
        uids(&events)
    );
}

/// The binary the template deploys for every function (bootstrap/) runs the one its
/// SAGEKEEPER_FUNCTION names; an unknown name stops it before anything runs.
#[test]
fn the_deployed_binary_runs_the_function_its_configuration_names() {
    let run_as = |function: &str| {
        std::process::Command::new(support::binary("sagekeeper"))
            .arg("--help")
            .env("SAGEKEEPER_FUNCTION", function)
            .output()
            .unwrap()
    };
    for function in FUNCTIONS {
        let out = run_as(function);
        assert!(out.status.success(), "{function}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("usage: {function} --event FILE|- [--dry-run]")),
            "{text}"
        );
    }
    let unknown = run_as("endpoint-parker");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(unknown.stdout.is_empty(), "no function ran");
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("SAGEKEEPER_FUNCTION=\"endpoint-parker\" is not one of"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_deployed_binary_sweeps_as_the_enforcer_does() {
    let env = [("SAGEKEEPER_FUNCTION", "encryption-enforcer")];
    assert_enforcer_sweeps_one_bucket("sagekeeper", &env).await;
}
