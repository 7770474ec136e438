#!/usr/bin/env bash
# template.yaml (the hub) and member.yaml (member accounts) must pass cfn-lint with no errors
# and our own cfn-guard rules (guard/rules.guard), which catch IAM wildcards that cfn-lint does
# not; template.yaml also sam validate --lint. Then both deploy, checked without AWS: each
# shape-changing parameter combination is SAM-transformed, linted and created in the
# emulator's CloudFormation (scripts/template_stack.py). Last, the README's picture of the
# dashboard is drawn from a small EMF fixture (scripts/dashboard_png.py).
set -euo pipefail
cd "$(dirname "$0")/.."
guard=.tools/bin/cfn-guard

echo "cfn-lint template.yaml member.yaml"
.venv/bin/cfn-lint template.yaml member.yaml

echo "sam validate --lint"
AWS_DEFAULT_REGION=us-east-1 .venv/bin/sam validate --lint --template-file template.yaml

echo "cfn-guard: template.yaml against guard/rules.guard"
"$guard" validate --data template.yaml --rules guard/rules.guard --show-summary fail
echo "cfn-guard: member.yaml against guard/rules.guard"
"$guard" validate --data member.yaml --rules guard/rules.guard --show-summary fail

echo "cfn-guard: rule unit tests"
"$guard" test --rules-file guard/rules.guard --test-data guard/tests/rules_tests.yaml

echo "cfn-guard: a template breaking every rule must fail"
if "$guard" validate --data guard/tests/bad-template.yaml --rules guard/rules.guard > /dev/null 2>&1; then
  echo "guard/tests/bad-template.yaml passed the rules: they no longer catch what they must" >&2
  exit 1
fi

echo "template stacks: SAM transform, cfn-lint and CreateStack in the emulator, per parameter combination"
PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m unittest scripts/test_template_stack.py

echo "dashboard picture: every widget of template.yaml's dashboard drawn from EMF logs (scripts/dashboard_png.py)"
PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m unittest scripts/test_dashboard_png.py

echo "template checks passed"
