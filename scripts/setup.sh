#!/usr/bin/env bash
# Installs what the demo and the tests need into project-local places, once:
#   .venv/   Python tools from scripts/requirements.txt (moto, boto3, SAM CLI + cfn-lint, cargo-lambda,
#            matplotlib)
#   .tools/  cfn-guard, built by cargo
# Re-running is cheap: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum scripts/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python tools (moto, SAM CLI, cfn-lint, cargo-lambda, matplotlib)" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
  echo "$want" > "$stamp"
fi

CFN_GUARD_VERSION=3.2.1
if [ "${SKIP_CFN_GUARD:-0}" != 1 ] && ! .tools/bin/cfn-guard --version 2>/dev/null | grep -q "$CFN_GUARD_VERSION"; then
  echo "setup: building cfn-guard $CFN_GUARD_VERSION (a few minutes, once)" >&2
  cargo install --quiet --locked --root .tools cfn-guard --version "$CFN_GUARD_VERSION"
fi
