//! A function served through the real Lambda runtime API (cargo-lambda's emulator of it),
//! invoked with a sample event the way `cargo lambda invoke --data-file events/...` does.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sagekeeper_core::{Outcome, Report};
use serde_json::Value;

mod support;
use support::reports::{self, BatchItemFailure, TargetRuns};
use support::{binary, repo_root};

/// Kills the child process when the test ends, pass or fail.
struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cargo_lambda() -> PathBuf {
    let path = repo_root().join(".venv/bin/cargo-lambda");
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the runtime API did not open port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn invoke(port: u16, data_file: &str) -> Value {
    let out = invoke_raw(port, data_file);
    assert!(
        out.status.success(),
        "invoke failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The invocation's answer, one run's report.
fn invoke_for_report(port: u16, data_file: &str) -> Report {
    let response = invoke(port, data_file);
    reports::report_of(&response).unwrap_or_else(|| panic!("not a report: {response:#}"))
}

/// The invocation's answer, the runs of several targets.
fn invoke_for_target_runs(port: u16, data_file: &str) -> TargetRuns {
    let response = invoke(port, data_file);
    reports::target_runs_of(&response)
        .unwrap_or_else(|| panic!("not a multi-target response: {response:#}"))
}

/// The invocation as `cargo lambda invoke` ends it: a function error makes it fail.
fn invoke_raw(port: u16, data_file: &str) -> std::process::Output {
    Command::new(cargo_lambda())
        .args([
            "lambda",
            "invoke",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
            "--data-file",
            data_file,
        ])
        .current_dir(repo_root())
        .output()
        .unwrap()
}

/// cargo-lambda's runtime API on a free port, and `function` polling it with `env`.
fn serve(function: &str, env: &[(&str, &str)]) -> (u16, Running, Running) {
    let port = free_port();
    let runtime_api = Running(
        Command::new(cargo_lambda())
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .current_dir(repo_root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    let function = Running(
        Command::new(binary(function))
            .env_clear()
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_REGION", support::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (port, runtime_api, function)
}

#[test]
fn drift_retrainer_handles_events_through_the_lambda_runtime_api() {
    let (port, _runtime_api, mut function) = serve(
        "drift-retrainer",
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
    );

    // An OK transition: handled without any AWS call (nothing listens at AWS_ENDPOINT_URL).
    let report = invoke_for_report(port, "events/alarm-eventbridge-ok.json");
    assert_eq!(report.function, "drift-retrainer");
    assert_eq!(report.actions[0].outcome, Outcome::Skipped);
    assert!(report.errors.is_empty());

    // A malformed event is answered with a report carrying the typed error, not a crash.
    let report = invoke_for_report(port, "events/scheduled.json");
    assert_eq!(report.errors[0].kind, "invalid-event");

    // In Lambda, logs and metrics go to stdout as JSON lines carrying the request id.
    drop(_runtime_api);
    let _ = function.0.kill();
    let mut logs = String::new();
    function
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "run finished" && l["span"]["requestId"].is_string()),
        "{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Sagekeeper"),
        "{logs}"
    );
}

#[tokio::test]
async fn an_sqs_fanout_batch_answers_batch_item_failures_through_the_runtime_api() {
    let bucket = support::new_bucket(&support::aws().await, "sk-rt-state").await;
    let (port, _runtime_api, _function) = serve(
        "endpoint-scheduler",
        &[
            ("AWS_ENDPOINT_URL", support::emulator_url()),
            ("STATE_BUCKET", &bucket),
            // The sample's target account; the hub is the emulator's default account.
            ("TARGET_ACCOUNTS", "123456789012,210987654321"),
            ("TARGET_REGIONS", "us-east-1,eu-west-1"),
        ],
    );

    let response = invoke_for_target_runs(port, "events/sqs-fanout.json");
    assert_eq!(response.batch_item_failures, Some(vec![]), "{response:#?}");
    assert_eq!(
        response.runs[0].target.as_deref(),
        Some("210987654321/eu-west-1")
    );
    assert_eq!(response.runs[0].trigger, "schedule");

    // A message meant for another function fails alone, named by its message id, for the
    // event source mapping to redeliver (and finally dead-letter).
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/sqs-fanout.json")).unwrap(),
    )
    .unwrap();
    let body = event["Records"][0]["body"]
        .as_str()
        .unwrap()
        .replace("endpoint-scheduler", "lifecycle-tagger");
    event["Records"][0]["body"] = Value::String(body);
    let path = std::env::temp_dir().join(format!("{}.json", support::unique("sqs-event")));
    std::fs::write(&path, event.to_string()).unwrap();
    let response = invoke_for_target_runs(port, path.to_str().unwrap());
    assert_eq!(
        response.batch_item_failures,
        Some(vec![BatchItemFailure {
            item_identifier: "0c0f8ad5-6a3e-4a5b-9d67-1f0c5e7e0a11".to_owned()
        }]),
        "{response:#?}"
    );
    assert_eq!(response.runs[0].errors[0].kind, "wrong-function");
}

/// A drift alarm whose handling fails for a reason a retry may fix (here AWS does not answer)
/// must end the invocation with a function error, so that Lambda retries the event and then
/// hands it to the on-failure destination; answered as a success it would be lost.
#[tokio::test]
async fn a_retryable_failure_ends_the_invocation_with_a_function_error() {
    let state = support::new_bucket(&support::aws().await, "sk-rt-retry").await;
    let unreachable = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_MAX_ATTEMPTS", "1"),
        ("STATE_BUCKET", state.as_str()),
    ];
    let (port, _runtime_api, _function) = serve("drift-retrainer", &unreachable);
    let out = invoke_raw(port, "events/alarm-eventbridge.json");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "answered as a success: {said}");
    assert!(said.contains("RetryableFailure"), "{said}");

    // Control: the same alarm with AWS answering is handled and answered (the endpoint does
    // not exist there, which a retry would not change).
    let reachable = [
        ("AWS_ENDPOINT_URL", support::emulator_url()),
        ("STATE_BUCKET", state.as_str()),
    ];
    let (port, _runtime_api, _function) = serve("drift-retrainer", &reachable);
    let report = invoke_for_report(port, "events/alarm-eventbridge.json");
    assert_eq!(report.function, "drift-retrainer", "{report:#?}");
    assert!(report.errors.iter().all(|e| !e.retryable), "{report:#?}");
}
