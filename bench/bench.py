"""sagekeeper vs Cloud Custodian, side by side on the same emulator state.

    python3 bench/bench.py [--sizes 100,1000,5000] [--trials 2] [--skip-build]

Installs its own tools (bench/.venv: moto, c7n), builds the release binaries, starts a private
moto server, and for each size N seeds N SageMaker endpoints (half opted in to parking) and N
S3 buckets (half unencrypted, some with policies). On that state it runs, alternating A/B:
our endpoint-scheduler and encryption-enforcer sweeps (dry run and real) and the equivalent
Custodian policies (dry run and real), measuring wall time, HTTP requests the emulator
received, and peak RSS. Real runs change the state, so the account is re-seeded before each.
Then cold start (process start to first event handled) against a minimal Python boto3
handler, and binary sizes. Writes BENCHMARKS.md.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
VENV = os.path.join(BENCH, ".venv")
PY = os.path.join(VENV, "bin", "python")
REQUIREMENTS = ["moto[server]==5.2.5", "c7n==0.9.53"]
REGION = "us-east-1"
FUNCTIONS = ["endpoint-scheduler", "encryption-enforcer", "drift-retrainer", "lifecycle-tagger"]

C7N_ENDPOINTS = """
policies:
  - name: park-opted-in-endpoints
    resource: sagemaker-endpoint
    filters:
      - "tag:AutoShutdown": "true"
    actions:
      - delete
"""
C7N_BUCKETS = """
policies:
  - name: buckets-without-kms
    resource: s3
    filters:
      - type: bucket-encryption
        state: false
    actions:
      - type: set-bucket-encryption
        crypto: aws:kms
        key: alias/sagekeeper
"""


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def ensure_tools(skip_build):
    if not os.path.exists(PY):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    stamp = os.path.join(VENV, ".requirements")
    if not os.path.exists(stamp) or open(stamp).read() != "\n".join(REQUIREMENTS):
        log("installing moto and Cloud Custodian into bench/.venv")
        subprocess.run([PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS], check=True)
        open(stamp, "w").write("\n".join(REQUIREMENTS))
    if not skip_build:
        log("building release binaries (lto, codegen-units=1: several minutes)")
        subprocess.run(["cargo", "build", "--release", "--workspace", "--bins", "--locked"], cwd=ROOT, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """A private moto server whose access log counts the requests it answers."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tempfile.mktemp(prefix="moto-", suffix=".log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [os.path.join(VENV, "bin", "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=self.log)
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2)
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("moto did not start")

    def requests(self):
        """Requests answered so far (one access-log line each, moto's own API excluded)."""
        with open(self.log_path) as f:
            return sum(1 for line in f if '" 2' in line or '" 3' in line or '" 4' in line or '" 5' in line
                       if "/moto-api/" not in line)

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/reset", method="POST"))

    def stop(self):
        self.process.terminate()
        self.process.wait()


def env_for(emulator, extra=None):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.update(extra or {})
    return env


def measure(command, env, emulator, cwd=ROOT):
    """Wall time, emulator requests and peak RSS of one command."""
    before = emulator.requests()
    start = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    stderr = process.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        log(f"{command[0]} exited {code}: {stderr[-2000:]}")
    time.sleep(0.2)  # let the access log flush
    return {"seconds": wall, "requests": emulator.requests() - before, "rss_mb": usage.ru_maxrss / 1024, "exit": code}


def seed(emulator, n):
    subprocess.run([PY, os.path.join(BENCH, "seed.py"), emulator.url, str(n)], check=True)


def ours(function, event, dry_run, emulator, state_bucket):
    binary = os.path.join(ROOT, "target", "release", function)
    args = [binary, "--event", os.path.join(ROOT, "events", event)] + (["--dry-run"] if dry_run else [])
    extra = {"STATE_BUCKET": state_bucket, "TIMEZONE": "Europe/Madrid", "BUCKET_PREFIX": "bench-"}
    return measure(args, env_for(emulator, extra), emulator)


def custodian(policy_text, dry_run, emulator, workdir):
    policy = os.path.join(workdir, "policy.yml")
    with open(policy, "w") as f:
        f.write(policy_text)
    # --cache-period 0: Custodian otherwise reuses the resource list of an earlier run for 15
    # minutes, which would hide its real request count (and act on stale resources).
    args = [os.path.join(VENV, "bin", "custodian"), "run", "-s", os.path.join(workdir, "out"), "--region", REGION,
            "--cache-period", "0", policy]
    if dry_run:
        args.insert(2, "--dryrun")
    return measure(args, env_for(emulator), emulator)


def compare(n, trials, emulator, workdir):
    rows = []
    cases = [
        ("endpoints", "endpoint-scheduler", "scheduled.json", C7N_ENDPOINTS),
        ("buckets", "encryption-enforcer", "scheduled.json", C7N_BUCKETS),
    ]
    for kind, function, event, policy in cases:
        for dry_run in (True, False):
            results = {"ours": [], "custodian": []}
            for trial in range(trials):
                order = ["ours", "custodian"] if trial % 2 == 0 else ["custodian", "ours"]
                for tool in order:
                    emulator.reset()
                    seed(emulator, n)
                    if tool == "ours":
                        results[tool].append(ours(function, event, dry_run, emulator, "bench-state"))
                    else:
                        results[tool].append(custodian(policy, dry_run, emulator, workdir))
            row = {"n": n, "kind": kind, "mode": "dry run" if dry_run else "real"}
            for tool, runs in results.items():
                row[tool] = {
                    "seconds": statistics.median(r["seconds"] for r in runs),
                    "requests": statistics.median(r["requests"] for r in runs),
                    "rss_mb": max(r["rss_mb"] for r in runs),
                }
            log(json.dumps(row))
            rows.append(row)
    return rows


BASELINE = """
import time, sys
start = time.monotonic()
import boto3
client = boto3.client("resourcegroupstaggingapi")
client.get_resources(ResourceTypeFilters=["sagemaker:endpoint"], TagFilters=[{"Key": "AutoShutdown"}])
"""


def cold_start(emulator, repeats=10):
    """Process start to first event handled: each of our binaries on an event needing one call
    (a schedule in an empty account), against Python + boto3 making that same first call."""
    emulator.reset()
    results = {}
    env = env_for(emulator, {"STATE_BUCKET": "bench-state", "DRY_RUN": "true"})
    events = {"endpoint-scheduler": "scheduled.json", "encryption-enforcer": "scheduled.json",
              "drift-retrainer": "alarm-eventbridge-ok.json", "lifecycle-tagger": "scheduled.json"}
    for function in FUNCTIONS:
        binary = os.path.join(ROOT, "target", "release", function)
        times = [measure([binary, "--event", os.path.join(ROOT, "events", events[function])], env, emulator)["seconds"]
                 for _ in range(repeats)]
        results[function] = statistics.median(times)
    times = [measure([PY, "-c", BASELINE], env, emulator)["seconds"] for _ in range(repeats)]
    results["python-boto3"] = statistics.median(times)
    return results


def binary_sizes():
    sizes = {}
    for function in FUNCTIONS:
        path = os.path.join(ROOT, "target", "release", function)
        sizes[function] = os.path.getsize(path) / (1024 * 1024)
    return sizes


def write_report(rows, cold, sizes, command):
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        "# Benchmarks",
        "",
        f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} by `{command}` on "
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.machine()}, against moto 5.2.5 on loopback. "
        "Re-running the command regenerates this file.",
        "",
        "Our release binaries vs Cloud Custodian 0.9.53 (`sagemaker-endpoint` tag filter + `delete`; `s3` "
        "`bucket-encryption` + `set-bucket-encryption` with a KMS alias), on the same freshly seeded state "
        "(N endpoints, half opted in; N buckets, half unencrypted). Medians over the trials; requests are "
        "those the emulator answered; RSS is the tool process's peak. Our enforcer evaluates all its rules "
        "(encryption, TLS policy, public access block, key rotation), more than the Custodian policy does.",
        "",
        "| N | resources | mode | ours s | Custodian s | speed-up | ours requests | Custodian requests | ratio | ours RSS MB | Custodian RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, c = r["ours"], r["custodian"]
        lines.append(
            f"| {r['n']} | {r['kind']} | {r['mode']} | {o['seconds']:.2f} | {c['seconds']:.2f} | "
            f"{c['seconds'] / max(o['seconds'], 1e-9):.1f}× | {o['requests']:.0f} | {c['requests']:.0f} | "
            f"{o['requests'] / max(c['requests'], 1):.2f} | {o['rss_mb']:.1f} | {c['rss_mb']:.1f} |")
    sizes_n = sorted({r["n"] for r in rows})
    if len(sizes_n) > 1:
        lines += ["", "Growth of our wall time from the smallest to the largest N (linear would equal the N ratio):", ""]
        for kind in ("endpoints", "buckets"):
            for mode in ("dry run", "real"):
                pick = {r["n"]: r["ours"]["seconds"] for r in rows if r["kind"] == kind and r["mode"] == mode}
                lo, hi = sizes_n[0], sizes_n[-1]
                if lo in pick and hi in pick:
                    lines.append(f"- {kind}, {mode}: ×{pick[hi] / max(pick[lo], 1e-9):.1f} for ×{hi / lo:.0f} resources")
    lines += ["", "## Cold start", "",
              "Process start to first event handled (one AWS call), median of 10, from a shell; the baseline is "
              "Python importing boto3 and making the same call.", "",
              "| program | seconds | vs Python |", "|---|---|---|"]
    for name, seconds in cold.items():
        lines.append(f"| {name} | {seconds:.3f} | {cold['python-boto3'] / max(seconds, 1e-9):.1f}× faster |"
                     if name != "python-boto3" else f"| {name} | {seconds:.3f} | — |")
    lines += ["", "## Release binary sizes (x86_64, stripped, LTO)", "", "| function | MiB |", "|---|---|"]
    lines += [f"| {name} | {size:.1f} |" for name, size in sizes.items()]
    lines += ["", "aarch64 (`cargo lambda build --arm64`) needs the aarch64 standard library, which is not "
              "installed on this machine; not measured."]
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    ensure_tools(args.skip_build)
    emulator = Emulator()
    workdir = tempfile.mkdtemp(prefix="bench-")
    try:
        rows = []
        for n in [int(s) for s in args.sizes.split(",")]:
            trials = args.trials if n < 5000 else 1
            rows += compare(n, trials, emulator, workdir)
        cold = cold_start(emulator)
        write_report(rows, cold, binary_sizes(), "python3 bench/bench.py " + " ".join(sys.argv[1:]))
        log("wrote BENCHMARKS.md")
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
