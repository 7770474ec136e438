#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 20): event parsing (every trigger
# shape), the schedule parsers (ours and Custodian's), and the bucket-policy merge. Seeds come
# from events/ and fuzz/seeds/. A crash leaves its input in fuzz/artifacts/<target>/ and fails;
# turn it into a regression test next to the code, then fix it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
if ! .tools/bin/cargo-fuzz --version > /dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz into .tools (once)" >&2
  cargo install --quiet --locked --root .tools cargo-fuzz
fi
export PATH="$PWD/.tools/bin:$PATH"
# cargo-fuzz passes nightly-only flags (sanitizer coverage); this lets the stable compiler take them.
export RUSTC_BOOTSTRAP=1
mkdir -p fuzz/corpus/events fuzz/corpus/schedule fuzz/corpus/bucket_policy
cp events/*.json fuzz/corpus/events/
for target in events schedule bucket_policy; do
  echo "fuzz: $target for ${seconds}s" >&2
  seeds=fuzz/seeds/$target
  [ -d "$seeds" ] || seeds=
  log=fuzz/last-$target.log
  status=0
  cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" $seeds -- -max_total_time="$seconds" \
    -print_final_stats=1 > "$log" 2>&1 || status=$?
  grep -E "^(Done [0-9]+ runs|stat::number_of_executed_units|==[0-9]+==|SUMMARY)" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 30 "$log" >&2
    echo "fuzz: $target failed (exit $status); full log: $log" >&2
    exit 1
  fi
  if [ -n "$(ls -A "fuzz/artifacts/$target" 2>/dev/null)" ]; then
    echo "fuzz: $target found a crash: fuzz/artifacts/$target" >&2
    exit 1
  fi
done
echo "fuzz: no crash"
