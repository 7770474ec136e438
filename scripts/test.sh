#!/usr/bin/env bash
# Every test, as CI runs them: formatting, the emulator extensions' own tests, clippy, unit
# tests, integration tests against the local AWS emulator (moto) incl. fault injection, the
# Lambda runtime API test (cargo-lambda), the template checks (cfn-lint, sam validate --lint,
# cfn-guard), `sam build` with a check of each function's artifact, the OCSF schema check of
# findings, and a bounded fuzzing run.
# Installs what it needs on first run.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*" >&2; }

step "installing tools (first run only)"
scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "no module cycle inside a function crate"
python3 scripts/module_cycles.py

step "emulator extensions (their own quick tests, on an in-process moto)"
PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m unittest discover -s scripts/emulator -p 'test_*.py'

step "OCSF validator (its own quick tests; the cargo tests run it on the functions' output)"
(cd scripts && PYTHONDONTWRITEBYTECODE=1 ../.venv/bin/python -m unittest test_ocsf_validate)

step "fault proxy (its own quick tests: fixed delay, calls in flight, requests per operation)"
(cd scripts && PYTHONDONTWRITEBYTECODE=1 ../.venv/bin/python -m unittest test_faultproxy)

# One feature set for build, clippy and test (--all-targets everywhere), so the AWS SDK
# crates compile once per mode instead of once per command.
step "cargo build --workspace --all-targets"
cargo build --workspace --all-targets --locked

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "template checks"
scripts/lint-template.sh

step "sam build (x86_64, debug profile: see README) and each function's artifact"
SAM_BUILD_MODE=debug scripts/sam-build.sh x86_64

step "local AWS emulator"
scripts/emulator.sh start
trap 'scripts/emulator.sh stop' EXIT

step "cargo test (unit + emulator integration + fault injection + Lambda runtime API)"
results=$(mktemp)
cargo test --workspace --locked 2>&1 | tee "$results"

step "fuzzing (bounded: 15 s per target)"
scripts/fuzz.sh 15

# One closing line for the whole run (cargo prints one per test binary, the last for doc tests).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$results"
