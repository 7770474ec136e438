//! One binary, two ways to run: under the Lambda runtime API, or from a shell with
//! `--event FILE|-` like `custodian run`. Both call the same handler with the raw event.

use std::future::Future;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

use crate::aws::Aws;
use crate::aws::sessions::Scope;
use crate::aws::targets::TargetsConfig;
use crate::config::{CommonConfig, Env, LogLevel};
use crate::run::budget::Budget;
use crate::run::dispatch::{Dispatcher, Parts, Response};
use crate::run::function::{Bound, Function, Settings};
use crate::run::logging::{self, LogSink};
use crate::run::ocsf;
use crate::run::reporter::Reporter;

/// Exit codes outside Lambda.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// A function's whole `main`: start (Lambda or shell), read the typed configuration (an
/// invalid value stops here, naming the variable), build the SDK configuration and the
/// function's clients for its own account once, then serve events in whichever account and
/// region each event is for (see [`crate::run::dispatch`]); clients for every other target
/// are built when an event is for it.
pub async fn run<F: Function>() -> ExitCode {
    let launch = match Launch::from_process(F::NAME, F::ABOUT) {
        Ok(launch) => launch,
        Err(code) => return code,
    };
    let env = launch.env();
    let settings = F::Config::from_env(env, launch.dry_run_flag()).and_then(|config| {
        let common = CommonConfig::from_env(env, launch.dry_run_flag())?;
        Ok((config, common, TargetsConfig::from_env(env)?))
    });
    let (config, common, targets) = match settings {
        Ok(settings) => settings,
        Err(err) => return launch.startup_failed(&err),
    };
    let hub = match Aws::load(env).await {
        Ok(aws) => aws,
        Err(err) => return launch.startup_failed(&err),
    };
    crate::model::arn::set_home_partition(hub.region().unwrap_or_default());
    let run_time_limit = common.run_time_limit;
    let parts = Parts {
        function: F::NAME,
        dry_run: common.dry_run,
        sweep_in_place: launch.dry_run_flag(),
        reporter: Reporter::new(&Scope::home(&hub), &common).without_export(),
        config,
        targets,
        hub,
    };
    let dispatcher = Dispatcher::new(
        parts,
        Bound::<F>::new,
        async |bound: &Bound<F>, event, budget| bound.handle(event, budget).await,
    );
    launch
        .serve(|event, deadline| dispatcher.dispatch(event, Budget::new(deadline, run_time_limit)))
        .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventInput {
    File(PathBuf),
    Stdin,
}

/// What a shell run prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The report, as the Lambda response.
    Report,
    /// One OCSF Compliance Finding JSON line per finding.
    Ocsf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Run {
        event: EventInput,
        dry_run: bool,
        format: Format,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0} (see --help)")]
pub struct UsageError(String);

/// Parses the arguments after the program name.
pub fn parse_args(args: &[String]) -> Result<Command, UsageError> {
    let mut event = None;
    let mut dry_run = false;
    let mut format = Format::Report;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--dry-run" => dry_run = true,
            "--format" => {
                format = match rest.next().map(String::as_str) {
                    Some("report") => Format::Report,
                    Some("ocsf") => Format::Ocsf,
                    _ => return Err(UsageError("--format needs report or ocsf".into())),
                };
            }
            "--event" => {
                let value = rest
                    .next()
                    .ok_or_else(|| UsageError("--event needs a file name or -".into()))?;
                event = Some(if value == "-" {
                    EventInput::Stdin
                } else {
                    EventInput::File(PathBuf::from(value))
                });
            }
            other => return Err(UsageError(format!("unknown argument {other:?}"))),
        }
    }
    let event = event.ok_or_else(|| UsageError("--event FILE|- is required".into()))?;
    Ok(Command::Run {
        event,
        dry_run,
        format,
    })
}

fn usage(function: &str, about: &str) -> String {
    format!(
        "{function} — {about}\n\n\
         Runs as an AWS Lambda function when AWS_LAMBDA_RUNTIME_API is set. Otherwise it handles\n\
         one event with the same code and prints the report, so it can be run from a shell\n\
         against any account the AWS credentials reach:\n\n\
         usage: {function} --event FILE|- [--dry-run] [--format report|ocsf]\n\n\
         \x20 --event FILE   the trigger event as JSON (- reads standard input); samples in events/\n\
         \x20 --dry-run      report what would be done without changing anything (like DRY_RUN=true)\n\
         \x20 --format ocsf  print each finding as an OCSF Compliance Finding JSON line, not the report\n\
         \x20 -h, --help     this text\n\n\
         Settings come from environment variables (see the README's configuration table);\n\
         AWS_REGION, AWS_ENDPOINT_URL and credentials work as the AWS SDK defines them.\n\
         The report JSON goes to stdout, logs to stderr. Exit status: 0 the run succeeded\n\
         (findings are not failures), 1 it failed, 2 bad arguments or configuration.\n"
    )
}

#[derive(Debug)]
enum Mode {
    Lambda,
    Shell {
        event: EventInput,
        dry_run: bool,
        format: Format,
    },
}

/// How this process was started, decided before any configuration is read.
#[derive(Debug)]
pub struct Launch {
    function: &'static str,
    mode: Mode,
    env: Env,
}

impl Launch {
    /// Reads the mode and arguments and starts logging. `Err` is the exit code to return at
    /// once (after `--help`, or for bad arguments).
    pub fn from_process(function: &'static str, about: &'static str) -> Result<Launch, ExitCode> {
        let env = Env::from_process();
        let in_lambda = env.get("AWS_LAMBDA_RUNTIME_API").is_some();
        // A bad LOG_LEVEL still gets logs at info, and is reported by `config_failed` below.
        let level = env.log_level().unwrap_or(LogLevel::Info);
        if in_lambda {
            logging::init(level, LogSink::Stdout);
            return Ok(Launch {
                function,
                mode: Mode::Lambda,
                env,
            });
        }
        logging::init(level, LogSink::Stderr);
        let args: Vec<String> = std::env::args().skip(1).collect();
        match parse_args(&args) {
            Ok(Command::Help) => {
                print!("{}", usage(function, about));
                Err(ExitCode::from(EXIT_OK))
            }
            Ok(Command::Run {
                event,
                dry_run,
                format,
            }) => Ok(Launch {
                function,
                mode: Mode::Shell {
                    event,
                    dry_run,
                    format,
                },
                env,
            }),
            Err(err) => {
                eprintln!("{function}: {err}");
                Err(ExitCode::from(EXIT_USAGE))
            }
        }
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    /// `--dry-run` on the command line.
    pub fn dry_run_flag(&self) -> bool {
        matches!(self.mode, Mode::Shell { dry_run: true, .. })
    }

    /// Logs a start-up error (configuration) and returns the exit code. In Lambda the
    /// non-zero exit fails the init phase, so the error shows in the function's logs and in
    /// every invocation's response until the configuration is fixed.
    pub fn startup_failed(&self, err: &dyn std::error::Error) -> ExitCode {
        tracing::error!(function = self.function, error = %err, "invalid configuration");
        if !matches!(self.mode, Mode::Lambda) {
            eprintln!("{}: invalid configuration: {err}", self.function);
        }
        ExitCode::from(EXIT_USAGE)
    }

    /// Serves events with `handler` until the runtime stops (Lambda), or handles the one event
    /// given on the command line and prints its report (shell). The handler also gets the
    /// invocation's deadline (milliseconds since the epoch; none from a shell).
    pub async fn serve<F, Fut>(self, handler: F) -> ExitCode
    where
        F: Fn(Value, Option<u64>) -> Fut,
        Fut: Future<Output = Response>,
    {
        match self.mode {
            Mode::Lambda => {
                let handler = &handler;
                let service = service_fn(move |event: LambdaEvent<Value>| async move {
                    let deadline = Some(event.context.deadline).filter(|ms| *ms > 0);
                    let response = handler(event.payload, deadline).await;
                    match RetryWanted::of(&response) {
                        Some(retry) => Err(retry),
                        None => Ok(response),
                    }
                });
                match lambda_runtime::run(service).await {
                    Ok(()) => ExitCode::from(EXIT_OK),
                    Err(err) => {
                        tracing::error!(error = %err, "the Lambda runtime stopped");
                        ExitCode::from(EXIT_FAILED)
                    }
                }
            }
            Mode::Shell { event, format, .. } => {
                let event = match read_event(&event) {
                    Ok(event) => event,
                    Err(message) => {
                        eprintln!("{}: {message}", self.function);
                        return ExitCode::from(EXIT_USAGE);
                    }
                };
                let response = handler(event, None).await;
                print_response(self.function, &response, format);
                ExitCode::from(if response.failed() {
                    EXIT_FAILED
                } else {
                    EXIT_OK
                })
            }
        }
    }
}

/// A run that failed for a reason a retry may fix, answered as a Lambda function error: the
/// report was already logged and notified, and Lambda's retries of the event (then its
/// on-failure destination) take it from here. Without this the invocation would succeed and
/// the failure would be seen by no retry, DLQ or `Errors` alarm.
#[derive(Debug, thiserror::Error)]
#[error(
    "{function}: {count} failure(s) a retry may fix, first: {first}; the report was logged and notified"
)]
pub struct RetryWanted {
    function: String,
    count: usize,
    first: String,
}

impl RetryWanted {
    pub const ERROR_TYPE: &'static str = "RetryableFailure";

    pub fn of(response: &Response) -> Option<RetryWanted> {
        if !response.retry_may_help() {
            return None;
        }
        let reports = response.reports();
        let mut retryable = reports
            .iter()
            .flat_map(|r| r.errors.iter())
            .filter(|e| e.retryable);
        let first = retryable.next()?;
        Some(RetryWanted {
            function: reports
                .first()
                .map(|r| r.function.clone())
                .unwrap_or_default(),
            count: 1 + retryable.count(),
            first: first.message.clone(),
        })
    }
}

impl From<RetryWanted> for Diagnostic {
    fn from(retry: RetryWanted) -> Diagnostic {
        Diagnostic {
            error_type: RetryWanted::ERROR_TYPE.to_owned(),
            error_message: retry.to_string(),
        }
    }
}

fn print_response(function: &str, response: &Response, format: Format) {
    match format {
        Format::Report => match serde_json::to_string_pretty(response) {
            Ok(json) => println!("{json}"),
            Err(err) => eprintln!("{function}: could not print the report: {err}"),
        },
        Format::Ocsf => {
            for report in response.reports() {
                for event in ocsf::events(report) {
                    println!("{event}");
                }
            }
        }
    }
}

fn read_event(input: &EventInput) -> Result<Value, String> {
    let (text, origin) = match input {
        EventInput::Stdin => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the event from standard input: {e}"))?;
            (text, "standard input".to_owned())
        }
        EventInput::File(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the event file {}: {e}", path.display()))?,
            path.display().to_string(),
        ),
    };
    serde_json::from_str(&text).map_err(|e| format!("the event in {origin} is not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::report::Report;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_run_and_help() {
        assert_eq!(
            parse_args(&args(&["--event", "events/scheduled.json", "--dry-run"])),
            Ok(Command::Run {
                event: EventInput::File("events/scheduled.json".into()),
                dry_run: true,
                format: Format::Report,
            })
        );
        assert_eq!(
            parse_args(&args(&["--event", "-"])),
            Ok(Command::Run {
                event: EventInput::Stdin,
                dry_run: false,
                format: Format::Report,
            })
        );
        assert_eq!(
            parse_args(&args(&["--format", "ocsf", "--event", "-"])),
            Ok(Command::Run {
                event: EventInput::Stdin,
                dry_run: false,
                format: Format::Ocsf,
            })
        );
        assert_eq!(
            parse_args(&args(&["--dry-run", "--help"])),
            Ok(Command::Help)
        );
    }

    #[test]
    fn rejects_bad_arguments() {
        assert_eq!(
            parse_args(&args(&[])).unwrap_err().to_string(),
            "--event FILE|- is required (see --help)"
        );
        assert!(parse_args(&args(&["--event"])).is_err());
        assert!(parse_args(&args(&["--event", "-", "--format", "csv"])).is_err());
        assert!(parse_args(&args(&["--event", "-", "--format"])).is_err());
        assert!(
            parse_args(&args(&["--evnt", "x"]))
                .unwrap_err()
                .to_string()
                .contains("--evnt")
        );
    }

    fn report_with_error(retryable: bool) -> Report {
        let mut report = Report::new("drift-retrainer", false, chrono::Utc::now());
        report.error(
            Some("arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud"),
            &crate::aws::AwsError {
                operation: "StartPipelineExecution",
                code: if retryable {
                    "ThrottlingException"
                } else {
                    "AccessDeniedException"
                }
                .to_owned(),
                message: "no".to_owned(),
                retryable,
            },
        );
        report
    }

    #[test]
    fn a_retryable_failure_is_a_function_error_and_others_are_answered() {
        let retry = RetryWanted::of(&Response::Run(report_with_error(true)))
            .expect("a throttled write asks Lambda to retry");
        let diagnostic = Diagnostic::from(retry);
        assert_eq!(diagnostic.error_type, "RetryableFailure");
        assert!(diagnostic.error_message.contains("StartPipelineExecution"));
        // Controls: a failure a retry cannot fix, and a clean run, are answered normally.
        assert!(RetryWanted::of(&Response::Run(report_with_error(false))).is_none());
        let clean = Report::new("drift-retrainer", false, chrono::Utc::now());
        assert!(RetryWanted::of(&Response::Run(clean)).is_none());
    }

    #[test]
    fn an_sqs_batch_retries_through_batch_item_failures_not_a_function_error() {
        let runs = |batch_item_failures| {
            Response::Targets(crate::run::dispatch::TargetRuns {
                function: "endpoint-scheduler".to_owned(),
                dry_run: false,
                batch_item_failures,
                runs: vec![report_with_error(true)],
            })
        };
        assert!(RetryWanted::of(&runs(Some(Vec::new()))).is_none());
        // An in-place sweep of several targets has no batch to name: it is retried whole.
        assert!(RetryWanted::of(&runs(None)).is_some());
    }

    #[test]
    fn usage_names_the_function_and_the_exit_codes() {
        let text = usage("endpoint-scheduler", "parks endpoints");
        assert!(text.contains(
            "usage: endpoint-scheduler --event FILE|- [--dry-run] [--format report|ocsf]"
        ));
        assert!(text.contains("AWS_LAMBDA_RUNTIME_API"));
        assert!(text.contains("2 bad arguments or configuration"));
    }
}
