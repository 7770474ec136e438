#!/usr/bin/env bash
# `sam build` as the README's deploy section runs it (cargo-lambda from .venv, no Docker), then
# checks each function's artifact (scripts/check_sam_build.py).
#   scripts/sam-build.sh [x86_64|arm64]    default x86_64: arm64 needs the aarch64 standard
#                                         library, which a fresh machine may not be able to fetch
# CI sets SAM_BUILD_MODE=debug: cargo-lambda then builds without --release, the same path
# through SAM, cargo-lambda and zig in a fraction of a release build's time.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-x86_64}
# SAM finds cargo and cargo-lambda (and cargo-lambda finds zig) on PATH only.
export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
rm -rf .aws-sam/build
sam build --parameter-overrides "Architecture=$arch" < /dev/null
.venv/bin/python scripts/check_sam_build.py "$arch"
