#!/usr/bin/env bash
# The demo: starts the local AWS emulator, seeds a small ML account (endpoints with and
# without AutoShutdown, buckets with and without encryption, a training job without KMS, a
# drift alarm and the Model Monitor execution that raised it, a Studio domain with two spaces
# and a Canvas user), runs all four functions on the
# sample events in events/ exactly as an operator would from a shell, and prints what they
# found and did.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> installing tools (first run only)" >&2
SKIP_CFN_GUARD=1 scripts/setup.sh
echo "==> building the functions (same build as the tests)" >&2
cargo build --workspace --all-targets --locked --quiet

echo "==> starting the local AWS emulator and seeding the demo account" >&2
url=$(scripts/emulator.sh start)
scripts/emulator.sh reset
settings=$(.venv/bin/python scripts/demo/seed.py "$url")
eval "$settings"

out=.demo
rm -rf "$out" && mkdir -p "$out"
export AWS_ENDPOINT_URL="$url" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
# The emulator answers a call it does not implement with HTTP 500, which the SDK retries; a
# short back-off keeps the demo quick should a run meet one. (Model Monitor schedules and
# executions are emulated: the drift retrainer reads the seeded execution's violations.)
export RETRY_INITIAL_BACKOFF_MS=20
export NOTIFY_TOPIC_ARN KMS_KEY_ARN STATE_BUCKET TIMEZONE=Europe/Madrid DEFAULT_SCHEDULE="Mon-Fri 08:00-19:00"

reports=()
run() { # FUNCTION EVENT-FILE [ARGS...]: report JSON into .demo/, logs into .demo/*.log
  local function=$1 event=$2; shift 2
  local name; name="$(printf '%02d' "${#reports[@]}")-$function--${event%.json}"
  echo "==> $function --event events/$event $*" >&2
  local status=0
  target/debug/"$function" --event "events/$event" "$@" > "$out/$name.json" 2> "$out/$name.log" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "    exit $status (see $out/$name.log)" >&2
  fi
  reports+=("$out/$name.json")
}

# Friday evening: park what is opted in. Monday morning: recreate, then (next run, once the
# endpoints are InService) restore their autoscaling.
run endpoint-scheduler scheduled.json
run endpoint-scheduler scheduled-morning.json
run endpoint-scheduler scheduled-morning.json
run encryption-enforcer scheduled.json
run encryption-enforcer cloudtrail-s3-put-bucket-encryption.json
run drift-retrainer alarm-eventbridge.json
# The same state change delivered again (as CloudWatch's SNS action would): nothing new starts.
run drift-retrainer alarm-sns.json
run drift-retrainer alarm-eventbridge-ok.json
# The tagger: defaults for required tags nothing else supplies, data classes by bucket name
# (acme-ml-training-data carries its class as a tag).
export DEFAULT_TAGS='{"Environment": "dev", "AutoShutdown": "false"}'
export DATA_CLASS_PREFIXES='{"acme-ml-model-": "model-artifacts", "acme-ml-experiment-": "experiment-logs", "acme-ml-scratch": "temp"}'
run lifecycle-tagger cloudtrail-sagemaker-create-training-job.json
run lifecycle-tagger scheduled.json
# An organisation: the same scheduler over this account and two member accounts in two regions,
# each reached through its member role (a dry run, so this account keeps its restored endpoints).
export TARGET_ACCOUNTS="123456789012,$DEMO_MEMBER_ACCOUNTS" TARGET_REGIONS=us-east-1,eu-west-1
run endpoint-scheduler scheduled.json --dry-run
unset TARGET_ACCOUNTS TARGET_REGIONS

.venv/bin/python scripts/demo/show.py "$url" "$DEMO_INBOX_URL" "${reports[@]}"
echo
if [ "${KEEP_EMULATOR:-0}" = 1 ]; then
  echo "Reports (JSON) and logs are in $out/. The emulator keeps running at $url (scripts/emulator.sh stop)."
else
  scripts/emulator.sh stop
  echo "Reports (JSON) and logs are in $out/. KEEP_EMULATOR=1 keeps the emulator running to explore."
fi
