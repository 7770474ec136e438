//! scripts/faultproxy.py in front of the emulator, for the fault-injection tests: one proxy
//! per test, seeded, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{emulator_url, repo_root};

/// The random faults the proxy injects, as /__faults names them.
pub const FAULT_KINDS: [&str; 4] = ["throttle", "error500", "drop-before", "drop-after"];

pub struct Proxy {
    child: Child,
    pub url: String,
}

/// What the proxy counted: requests a random fault could hit, faults injected among them, and
/// every count it keeps (see the script's docstring).
pub struct Counts {
    pub requests: u64,
    pub injected: u64,
    pub all: Value,
}

impl Proxy {
    /// Fails `rate` of the requests, reproducibly from `seed`; `args` are more of the script's
    /// options (`--idempotency-tokens`, `--deny-assume-account ACCOUNT`).
    pub fn start(rate: &str, seed: u32, args: &[&str]) -> Proxy {
        let mut child = Command::new(repo_root().join(".venv/bin/python"))
            .arg(repo_root().join("scripts/faultproxy.py"))
            .args(["--upstream", emulator_url(), "--rate", rate])
            .args(["--seed", &seed.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start scripts/faultproxy.py (run scripts/setup.sh first)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("http://"), "faultproxy.py said {line:?}");
        Proxy {
            child,
            url: line.trim().to_owned(),
        }
    }

    /// The environment that sends a function binary's calls through the proxy, with the SDK's
    /// retries on: standard mode (adaptive mode would also slow down on throttles),
    /// `max_attempts` attempts, a short back-off so the tests stay quick.
    pub fn function_env(&self, max_attempts: &'static str) -> [(&'static str, &str); 4] {
        [
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_RETRY_MODE", "standard"),
            ("AWS_MAX_ATTEMPTS", max_attempts),
            ("RETRY_INITIAL_BACKOFF_MS", "5"),
        ]
    }

    pub fn counts(&self) -> Counts {
        let out = Command::new(repo_root().join(".venv/bin/python"))
            .args(["-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + '/__faults').read().decode())"])
            .arg(&self.url)
            .output()
            .unwrap();
        let all: Value = serde_json::from_slice(&out.stdout).unwrap();
        Counts {
            requests: all["requests"].as_u64().unwrap(),
            injected: FAULT_KINDS.iter().map(|k| all[k].as_u64().unwrap()).sum(),
            all,
        }
    }

    /// The proxy really was in the way (more than `more_than` requests went through it) and
    /// really failed requests: at least 10% of them, with every kind of fault. Without this a
    /// test that bypassed the proxy would pass without testing anything.
    #[track_caller]
    pub fn assert_faults_injected(&self, more_than: u64) -> Counts {
        let counts = self.counts();
        let all = &counts.all;
        assert!(counts.requests > more_than, "{all}");
        assert!(
            counts.injected * 100 >= counts.requests * 10,
            "fewer than 10% of requests failed: {all}"
        );
        for kind in FAULT_KINDS {
            assert!(all[kind].as_u64().unwrap() > 0, "no {kind} injected: {all}");
        }
        counts
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
