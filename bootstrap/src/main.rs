//! sagekeeper: the four functions in one binary. A release build then links (and optimises
//! across) the SDK once instead of four times, and `sam build` builds one artifact. Which
//! function runs is chosen by `SAGEKEEPER_FUNCTION`, which the template sets on each Lambda
//! function, or else by the name the binary is called by (a link named `endpoint-scheduler`).
// The layout of a run's whole future, computed here, is deeper than rustc's default limit.
#![recursion_limit = "256"]

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use sagekeeper_core::run::entrypoint::EXIT_USAGE;

const FUNCTION_VARIABLE: &str = "SAGEKEEPER_FUNCTION";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    DriftRetrainer,
    EncryptionEnforcer,
    EndpointScheduler,
    LifecycleTagger,
}

const FUNCTIONS: [(&str, Function); 4] = [
    (drift_retrainer::NAME, Function::DriftRetrainer),
    (encryption_enforcer::NAME, Function::EncryptionEnforcer),
    (endpoint_scheduler::NAME, Function::EndpointScheduler),
    (lifecycle_tagger::NAME, Function::LifecycleTagger),
];

#[tokio::main]
async fn main() -> ExitCode {
    let chosen = chosen(
        std::env::var_os(FUNCTION_VARIABLE),
        std::env::args_os().next(),
    );
    match chosen {
        Ok(Function::DriftRetrainer) => drift_retrainer::main().await,
        Ok(Function::EncryptionEnforcer) => encryption_enforcer::main().await,
        Ok(Function::EndpointScheduler) => endpoint_scheduler::main().await,
        Ok(Function::LifecycleTagger) => lifecycle_tagger::main().await,
        Err(problem) => {
            // Printed before any function's logging exists; Lambda keeps stderr in the log.
            eprintln!("sagekeeper: {problem}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The function `SAGEKEEPER_FUNCTION` names, or else the one the binary is called by.
fn chosen(variable: Option<OsString>, called_as: Option<OsString>) -> Result<Function, String> {
    let known = || FUNCTIONS.map(|(name, _)| name).join(", ");
    let named = |wanted: &str| {
        FUNCTIONS
            .into_iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, function)| function)
    };
    if let Some(value) = variable {
        let value = value.to_string_lossy();
        return named(value.trim())
            .ok_or_else(|| format!("{FUNCTION_VARIABLE}={value:?} is not one of {}", known()));
    }
    let called_as = called_as
        .as_deref()
        .and_then(|path| Path::new(path).file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    named(&called_as).ok_or_else(|| {
        format!(
            "set {FUNCTION_VARIABLE} to the function to run ({}), or call this binary by its name",
            known()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(value: &str) -> Option<OsString> {
        Some(OsString::from(value))
    }

    #[test]
    fn the_variable_chooses_the_function_whatever_the_binary_is_called() {
        assert_eq!(
            chosen(os("endpoint-scheduler"), os("/var/task/bootstrap")),
            Ok(Function::EndpointScheduler)
        );
        assert_eq!(
            chosen(os(" lifecycle-tagger\n"), os("drift-retrainer")),
            Ok(Function::LifecycleTagger)
        );
    }

    #[test]
    fn without_the_variable_the_name_called_by_chooses() {
        assert_eq!(
            chosen(None, os("/opt/bin/encryption-enforcer")),
            Ok(Function::EncryptionEnforcer)
        );
    }

    #[test]
    fn an_unknown_or_missing_choice_is_refused_naming_the_four() {
        let unknown = chosen(os("endpoint-parker"), os("bootstrap")).unwrap_err();
        assert!(unknown.contains("\"endpoint-parker\""), "{unknown}");
        let missing = chosen(None, os("/var/task/bootstrap")).unwrap_err();
        assert!(missing.contains(FUNCTION_VARIABLE), "{missing}");
        for problem in [unknown, missing] {
            for (name, _) in FUNCTIONS {
                assert!(problem.contains(name), "{problem}");
            }
        }
    }
}
