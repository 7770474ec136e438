#!/usr/bin/env bash
# The local AWS emulator (moto in server mode, with the extensions in scripts/emulator/) on a
# free 127.0.0.1 port.
#   scripts/emulator.sh start   start it if it is not running; print its URL
#   scripts/emulator.sh stop    stop it
#   scripts/emulator.sh reset   forget every resource it holds
#   scripts/emulator.sh url     print its URL (fails when it is not running)
# The URL is written to .emulator/url, where the tests and the demo find it.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.emulator
mkdir -p "$dir"

answers() { # URL -> 0 when the emulator answers
  .venv/bin/python - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2).read()
PY
}

running_url() {
  [ -f "$dir/pid" ] && [ -f "$dir/url" ] || return 1
  kill -0 "$(cat "$dir/pid")" 2>/dev/null || return 1
  local url; url=$(cat "$dir/url")
  answers "$url" && echo "$url"
}

case "${1:-}" in
  start)
    if url=$(running_url); then echo "$url"; exit 0; fi
    [ -x .venv/bin/moto_server ] || SKIP_CFN_GUARD=1 scripts/setup.sh
    port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    url="http://127.0.0.1:$port"
    nohup .venv/bin/python scripts/emulator/server.py -H 127.0.0.1 -p "$port" > "$dir/moto.log" 2>&1 &
    echo $! > "$dir/pid"
    echo "$url" > "$dir/url"
    # Up to 60 s: on a loaded machine, importing moto and the extensions takes a while.
    for _ in $(seq 1 600); do
      if answers "$url"; then echo "$url"; exit 0; fi
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
      sleep 0.1
    done
    # Never leave a server behind that nothing records.
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid" "$dir/url"
    echo "emulator: moto did not start; its log:" >&2
    cat "$dir/moto.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; fi
    rm -f "$dir/pid" "$dir/url"
    ;;
  reset)
    url=$(running_url) || { echo "emulator: not running" >&2; exit 1; }
    .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/moto-api/reset", method="POST"))' "$url"
    ;;
  url)
    running_url || { echo "emulator: not running (scripts/emulator.sh start)" >&2; exit 1; }
    ;;
  *)
    echo "usage: scripts/emulator.sh start|stop|reset|url" >&2
    exit 2
    ;;
esac
