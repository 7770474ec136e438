//! A function served through the real Lambda runtime API (cargo-lambda's emulator of it),
//! invoked with a sample event the way `cargo lambda invoke --data-file events/...` does.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;
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
    let out = Command::new(cargo_lambda())
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
        .unwrap();
    assert!(
        out.status.success(),
        "invoke failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn drift_retrainer_handles_events_through_the_lambda_runtime_api() {
    let port = free_port();
    let _runtime_api = Running(
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
    let mut function = Running(
        Command::new(binary("drift-retrainer"))
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
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // An OK transition: handled without any AWS call (nothing listens at AWS_ENDPOINT_URL).
    let report = invoke(port, "events/alarm-eventbridge-ok.json");
    assert_eq!(report["function"], "drift-retrainer");
    assert_eq!(report["actions"][0]["outcome"], "skipped");
    assert!(report["errors"].as_array().unwrap().is_empty());

    // A malformed event is answered with a report carrying the typed error, not a crash.
    let report = invoke(port, "events/scheduled.json");
    assert_eq!(report["errors"][0]["kind"], "invalid-event");

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
