"""sagekeeper vs Cloud Custodian, side by side on the same emulator state; and the load test.

    python3 bench/bench.py [--sizes 100,1000,5000] [--trials 2] [--skip-build] [--tool-timeout 1800]
    python3 bench/bench.py --load 5000 [--margin 0.5] [--skip-build]
    python3 bench/bench.py --latency-ms 0,50 [--sizes 300,1000] [--trials 1] [--floor-concurrency 8]
    python3 bench/bench.py --cold-start [--skip-build] [--binaries DIR]

Installs its own tools (bench/.venv: moto, c7n), builds the release binaries (unless
--skip-build), and starts a private moto server.

Comparison (--sizes): for each size N it seeds N SageMaker endpoints (half opted in to parking)
and N S3 buckets (half unencrypted, some with policies). On that state it runs, alternating A/B:
our endpoint-scheduler and encryption-enforcer sweeps (dry run and real) and the equivalent
Custodian policies (dry run and real), measuring wall time, HTTP requests the emulator
answered, and peak RSS. Dry runs change nothing, so all dry runs of a trial share one seeded
state; every real run gets a freshly seeded account. A run longer than --tool-timeout seconds
is stopped and reported as such. While a run goes, the bench watches the emulator's request
log: a silence (no request answered) longer than --stall-seconds is reported with a snapshot of
the connections, of where the tool's threads wait and of the emulator's CPU use, so that a stall
can be told apart from a slow emulator. Then cold start and binary sizes (below).

Cold start and sizes (--cold-start runs only these): process start to first event handled, median
of 10 runs, for each function's own binary and for the multi-call binary `sagekeeper` (the one
the template deploys for all four functions) run as that function (SAGEKEEPER_FUNCTION=<function>,
same event, environment and arguments, alternating with the own binary), against a minimal Python
boto3 handler making the same first call. Sizes: each binary (the four function binaries and
`sagekeeper`) and the zip Lambda would get for it (the binary alone, named `bootstrap`, deflated
at the default level, as `sam package` zips it). Without a `sagekeeper` binary the bench says so and measures the rest.

Load (--load N): reads each function's Lambda timeout from template.yaml (Globals, overridden
per function), seeds N endpoints + N buckets, runs the real (not dry-run) sweeps of the
endpoint-scheduler, encryption-enforcer and lifecycle-tagger with that timeout as a hard cap,
and fails (exit 1) when one does not finish within its timeout or reports errors. From the
measured rate it derives the largest account one invocation sweeps within the timeout with
the --margin of safety.

At AWS latency (--latency-ms 0,50): for each size N (default 300,1000) and each latency, the job
(the real runs: park the opted-in endpoints; bring every bucket to SSE-KMS, a TLS-only policy
and a public access block), ours and Custodian's equivalent policies, each on a freshly seeded
account and through scripts/faultproxy.py (--rate 0: no faults; --fixed-latency-ms MS: every
call waits MS before it reaches the emulator, like an AWS API call from a Lambda). Per run:
wall time, requests per operation (counted by the proxy), calls in flight (the proxy's
time-weighted mean over the run, and max), CPU time (user + system of the tool and the children
it waited for, from wait4) and peak RSS. Also the emulator's own throughput, measured in the same
run on the seeded state (cheap reads from 8 clients, no proxy), and from it the floor of each of
our runs: the larger of requests x MS / --floor-concurrency and requests / that throughput.

--binaries DIR runs the function binaries found there (default target/release); --results and
--report write the measurements and the markdown elsewhere (e.g. for a smoke run with debug
binaries that must not replace the measured ones).

Every run stores its measurements in bench/results.json and rewrites BENCHMARKS.md from it, so
a comparison run keeps the load section and vice versa; sizes measured again replace the stored
ones. Sections of BENCHMARKS.md the bench does not generate (the hand-written reading of the
numbers) are kept as they are.
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections import Counter
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
VENV = os.path.join(BENCH, ".venv")
PY = os.path.join(VENV, "bin", "python")
RESULTS = os.path.join(BENCH, "results.json")
REPORT = os.path.join(ROOT, "BENCHMARKS.md")
TEMPLATE = os.path.join(ROOT, "template.yaml")
FAULTPROXY = os.path.join(ROOT, "scripts", "faultproxy.py")
RELEASE = os.path.join(ROOT, "target", "release")
REQUIREMENTS = ["moto[server]==5.2.5", "c7n==0.9.53"]
REGION = "us-east-1"
FUNCTIONS = ["endpoint-scheduler", "encryption-enforcer", "drift-retrainer", "lifecycle-tagger"]
# The multi-call binary (bootstrap/): runs the function SAGEKEEPER_FUNCTION names.
MULTICALL = "sagekeeper"
MULTICALL_VARIABLE = "SAGEKEEPER_FUNCTION"
# template.yaml logical ids of the functions.
LOGICAL_IDS = {
    "endpoint-scheduler": "EndpointSchedulerFunction",
    "encryption-enforcer": "EncryptionEnforcerFunction",
    "drift-retrainer": "DriftRetrainerFunction",
    "lifecycle-tagger": "LifecycleTaggerFunction",
}

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


# At AWS latency, Custodian does the whole bucket job ours does: SSE-KMS, a bucket policy that
# denies requests without TLS, and a public access block (three policies in one run).
C7N_BUCKETS_JOB = C7N_BUCKETS + """
  - name: buckets-without-tls-only
    resource: s3
    filters:
      - type: missing-statement
        statement_ids: [DenyInsecureTransport]
    actions:
      - type: set-statements
        statements:
          - Sid: DenyInsecureTransport
            Effect: Deny
            Principal: "*"
            Action: "s3:*"
            Resource: ["arn:aws:s3:::{bucket_name}", "arn:aws:s3:::{bucket_name}/*"]
            Condition:
              Bool:
                "aws:SecureTransport": "false"
  - name: buckets-without-public-access-block
    resource: s3
    filters:
      - type: check-public-block
    actions:
      - type: set-public-block
"""


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


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


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (None once it is gone)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Emulator:
    """A private moto server whose access log counts the requests it answers."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tempfile.mktemp(prefix="moto-", suffix=".log")
        self.log = open(self.log_path, "w")
        self._offset = 0
        self._answered = 0
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
        """Requests answered so far (one access-log line each, moto's own API excluded). Reads
        only what the log gained since the last call, so watching a run costs little CPU."""
        with open(self.log_path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if b"/moto-api/" in line:
                continue
            if b'" 2' in line or b'" 3' in line or b'" 4' in line or b'" 5' in line:
                self._answered += 1
        self._offset += end
        return self._answered

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/reset", method="POST"))

    def stop(self):
        self.process.terminate()
        self.process.wait()


def env_for(emulator, extra=None, endpoint=None):
    """The tools' environment; `endpoint` (a proxy in front of the emulator) replaces the
    emulator's URL."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ENDPOINT_URL": endpoint or emulator.url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.update(extra or {})
    return env


class Settings:
    """Run-wide knobs measure() needs: the per-tool time cap, the stall threshold, where
    diagnostics go, extra environment for our binaries."""
    tool_timeout = None
    stall_seconds = 20.0
    logs = None
    ours_env = {}
    binaries = RELEASE  # where our function binaries are (--binaries)
    loads = []  # 1-minute load averages sampled after each measured run


def stall_snapshot(emulator, pid, label, silence, moto_cpu_at_start):
    """What a silence looks like from outside: the TCP connections to the emulator (with their
    queues and timers), where each thread of the tool waits, and how much CPU the emulator
    burnt meanwhile (busy emulator = slow server; idle emulator and idle tool = the tool waits
    on a timer or on a response that never comes)."""
    path = os.path.join(Settings.logs, f"stall-{label}-{int(time.time())}.txt")
    moto_cpu = cpu_seconds(emulator.process.pid)
    lines = [f"{label}: no request answered for {silence:.0f} s (tool pid {pid})",
             f"emulator CPU seconds used during the silence: "
             f"{(moto_cpu or 0) - (moto_cpu_at_start or 0):.2f}",
             f"tool CPU seconds so far: {cpu_seconds(pid)}", ""]
    try:
        ss = subprocess.run(["ss", "-tnoie", "state", "all", f"( sport = :{emulator.port} or dport = :{emulator.port} )"],
                            capture_output=True, text=True, timeout=10).stdout
        lines += ["## ss (connections to/from the emulator)", ss]
    except (OSError, subprocess.SubprocessError) as err:
        lines.append(f"ss failed: {err}")
    lines.append("## tool threads: name, state, wchan")
    try:
        for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
            base = f"/proc/{pid}/task/{tid}"
            try:
                name = open(f"{base}/comm").read().strip()
                state = open(f"{base}/stat").read().rsplit(")", 1)[1].split()[0]
                wchan = open(f"{base}/wchan").read().strip()
            except OSError:
                continue
            lines.append(f"{tid} {name} {state} {wchan}")
    except OSError as err:
        lines.append(f"cannot read threads: {err}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    log(f"{label}: silence of {silence:.0f} s, snapshot in {path}")
    return path


def measure(command, env, emulator, label, cwd=ROOT, timeout=None, stdout_path=None, proxy=None):
    """Wall time, emulator requests, CPU time, peak RSS and the longest silence of one command,
    stopped after `timeout` seconds (then `timed_out` is set and the time is the cap). The wait
    for the process blocks, so short runs are timed exactly; a watcher thread enforces the cap and
    watches the emulator's log for silences. With a `proxy` (the command's calls go through it),
    also its counts over the run: requests per operation and calls in flight."""
    timeout = timeout if timeout is not None else Settings.tool_timeout
    before = emulator.requests()
    if proxy is not None:
        proxy.counts(reset=True)
        proxy_cpu_before = cpu_seconds(proxy.process.pid) or 0.0
    stderr_path = os.path.join(Settings.logs, f"{label}.stderr")
    out = open(stdout_path, "w") if stdout_path else subprocess.DEVNULL
    err = open(stderr_path, "w")
    start = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err, start_new_session=True)
    done = threading.Event()
    watch = {"max_silence": 0.0, "last_change": start, "snapshots": [], "timed_out": False}

    def watcher():
        last_count = before
        moto_cpu_at_change = cpu_seconds(emulator.process.pid)
        snapshot_taken = False  # one snapshot per silence
        while not done.wait(1.0):
            now = time.monotonic()
            count = emulator.requests()
            if count != last_count:
                watch["max_silence"] = max(watch["max_silence"], now - watch["last_change"])
                last_count, watch["last_change"] = count, now
                moto_cpu_at_change = cpu_seconds(emulator.process.pid)
                snapshot_taken = False
            elif now - watch["last_change"] >= Settings.stall_seconds and not snapshot_taken:
                watch["snapshots"].append(
                    stall_snapshot(emulator, process.pid, label, now - watch["last_change"], moto_cpu_at_change))
                snapshot_taken = True
            if timeout and now - start > timeout:
                log(f"{label}: stopped after the {timeout:.0f} s cap")
                watch["timed_out"] = True
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                return

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    proxy_counts = proxy.counts(reset=True) if proxy is not None else None
    done.set()
    thread.join()
    max_silence = max(watch["max_silence"], time.monotonic() - watch["last_change"])
    err.close()
    if stdout_path:
        out.close()
    code = os.waitstatus_to_exitcode(status)
    timed_out = watch["timed_out"]
    if code not in (0, 1) and not timed_out:
        tail = open(stderr_path, errors="replace").read()[-2000:]
        log(f"{command[0]} exited {code}: {tail}")
    time.sleep(0.2)  # let the access log flush
    Settings.loads.append(os.getloadavg()[0])
    result = {"seconds": min(wall, timeout) if timed_out else wall, "requests": emulator.requests() - before,
              "rss_mb": usage.ru_maxrss / 1024, "exit": code, "timed_out": timed_out,
              # wait4's usage covers the process and the children it waited for
              "cpu_s": usage.ru_utime + usage.ru_stime,
              "max_silence_s": round(min(max_silence, wall), 1), "stall_snapshots": watch["snapshots"]}
    if proxy_counts is not None:
        result["operations"] = proxy_counts["operations"]
        result["proxy_requests"] = sum(proxy_counts["operations"].values())
        result["in_flight"] = proxy_counts["in-flight"]
        result["proxy_cpu_s"] = (cpu_seconds(proxy.process.pid) or 0.0) - proxy_cpu_before
    return result


def seed(emulator, n):
    start = time.monotonic()
    subprocess.run([PY, os.path.join(BENCH, "seed.py"), emulator.url, str(n)], check=True)
    log(f"seeded {n} endpoints + {n} buckets in {time.monotonic() - start:.0f} s")


def ours(function, event, dry_run, emulator, state_bucket, label, timeout=None, stdout_path=None, proxy=None,
         env=None):
    binary = os.path.join(Settings.binaries, function)
    args = [binary, "--event", os.path.join(ROOT, "events", event)] + (["--dry-run"] if dry_run else [])
    extra = {"STATE_BUCKET": state_bucket, "TIMEZONE": "Europe/Madrid", "BUCKET_PREFIX": "bench-", **(env or {}),
             **Settings.ours_env}
    return measure(args, env_for(emulator, extra, proxy and proxy.url), emulator, label, timeout=timeout,
                   stdout_path=stdout_path, proxy=proxy)


def custodian(policy_text, dry_run, emulator, workdir, label, proxy=None):
    policy = os.path.join(workdir, "policy.yml")
    with open(policy, "w") as f:
        f.write(policy_text)
    # --cache-period 0: Custodian otherwise reuses the resource list of an earlier run for 15
    # minutes, which would hide its real request count (and act on stale resources).
    args = [os.path.join(VENV, "bin", "custodian"), "run", "-s", os.path.join(workdir, "out"), "--region", REGION,
            "--cache-period", "0", policy]
    if dry_run:
        args.insert(2, "--dryrun")
    return measure(args, env_for(emulator, endpoint=proxy and proxy.url), emulator, label, proxy=proxy)


CASES = [
    ("endpoints", "endpoint-scheduler", "scheduled.json", C7N_ENDPOINTS),
    ("buckets", "encryption-enforcer", "scheduled.json", C7N_BUCKETS),
]


def compare(n, trials, emulator, workdir):
    results = {(kind, mode): {"ours": [], "custodian": []} for kind, *_ in CASES for mode in ("dry run", "real")}

    def run(tool, kind, function, event, policy, dry_run, trial):
        label = f"n{n}-{kind}-{'dry' if dry_run else 'real'}-{tool}-t{trial}"
        if tool == "ours":
            # As in the latency job: Custodian encrypts with the seeded key's alias, so ours gets
            # that key too (without KMS_KEY_ARN the enforcer only reports missing SSE-KMS).
            env = {"KMS_KEY_ARN": seeded_key_arn(emulator)} if function == "encryption-enforcer" else None
            result = ours(function, event, dry_run, emulator, "bench-state", label, env=env)
        else:
            result = custodian(policy, dry_run, emulator, workdir, label)
        log(f"{label}: {result['seconds']:.1f} s, {result['requests']} requests, exit {result['exit']}"
            + (", TIMED OUT" if result["timed_out"] else "") + f", longest silence {result['max_silence_s']} s")
        results[(kind, "dry run" if dry_run else "real")][tool].append(result)

    for trial in range(trials):
        order = ["ours", "custodian"] if trial % 2 == 0 else ["custodian", "ours"]
        # Dry runs change nothing: one seeded account serves all of them.
        emulator.reset()
        seed(emulator, n)
        for kind, function, event, policy in CASES:
            for tool in order:
                run(tool, kind, function, event, policy, True, trial)
        for kind, function, event, policy in CASES:
            for tool in order:
                emulator.reset()
                seed(emulator, n)
                run(tool, kind, function, event, policy, False, trial)
    rows = []
    for (kind, mode), by_tool in results.items():
        row = {"n": n, "kind": kind, "mode": mode}
        for tool, runs in by_tool.items():
            row[tool] = {
                "seconds": statistics.median(r["seconds"] for r in runs),
                "requests": statistics.median(r["requests"] for r in runs),
                "rss_mb": max(r["rss_mb"] for r in runs),
                "timed_out": any(r["timed_out"] for r in runs),
                "max_silence_s": max(r["max_silence_s"] for r in runs),
                "exits": [r["exit"] for r in runs],
            }
        log(json.dumps(row))
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# At AWS latency: the job through a loopback proxy that adds a fixed delay to every call
# ---------------------------------------------------------------------------------------------

class Proxy:
    """scripts/faultproxy.py in front of the emulator: no faults (--rate 0), every call delayed
    by `latency_ms`; counts requests per operation and in flight (reset per measured run)."""

    def __init__(self, upstream, latency_ms):
        args = [PY, FAULTPROXY, "--upstream", upstream, "--rate", "0"]
        if latency_ms > 0:
            args += ["--fixed-latency-ms", f"{latency_ms:g}"]
        self.latency_ms = latency_ms
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("http://"):
            self.stop()
            raise SystemExit(f"faultproxy.py did not start: {line!r}")
        self.url = line.strip()

    def counts(self, reset=False):
        """The proxy's counts; with `reset`, those up to now, and it starts counting anew."""
        request = urllib.request.Request(self.url + ("/__faults/reset" if reset else "/__faults"),
                                         method="POST" if reset else "GET")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def stop(self):
        self.process.terminate()
        self.process.wait()
        self.process.stdout.close()


def emulator_throughput(url, n, seconds, concurrency=8):
    """Requests per second answered at `url` by `concurrency` clients sending cheap reads of the
    seeded state back to back over keep-alive connections for `seconds`: S3 GetBucketEncryption
    of an encrypted bucket and SageMaker DescribeEndpoint, alternately. Plain HTTP with a SigV4-
    shaped Authorization header (the emulator routes by its credential scope and does not check
    signatures), so the clients cost the emulator's two cores little."""
    address = urlsplit(url)
    encrypted = max(1, (n + 1) // 2)  # the seed encrypts the even-numbered buckets

    def request(i):
        auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"
        if i % 2:
            return "GET", f"/bench-bucket-{((i // 2) % encrypted) * 2:05d}?encryption", None, \
                {"Authorization": auth.format("s3")}
        body = json.dumps({"EndpointName": f"bench-ep-{(i // 2) % n:05d}"}).encode()
        return "POST", "/", body, {"Authorization": auth.format("sagemaker"), "X-Amz-Target": "SageMaker.DescribeEndpoint",
                                   "Content-Type": "application/x-amz-json-1.1"}

    statuses, lock = Counter(), threading.Lock()
    errors = [0]

    def worker(w, deadline):
        connection, i = None, w
        mine, failed = Counter(), 0
        while time.monotonic() < deadline:
            method, path, body, headers = request(i)
            i += concurrency
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                mine[response.status // 100 * 100] += 1
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                failed += 1
                if connection is not None:
                    connection.close()
                connection = None
        if connection is not None:
            connection.close()
        with lock:
            statuses.update(mine)
            errors[0] += failed

    for i in range(2):  # warm-up: one of each, not counted
        method, path, body, headers = request(i)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        connection.request(method, path, body=body, headers=headers)
        connection.getresponse().read()
        connection.close()
    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(w, start + seconds)) for w in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    answered = sum(statuses.values())
    return {"requests_per_s": answered / elapsed, "requests": answered, "seconds": elapsed,
            "concurrency": concurrency, "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "errors": errors[0]}


def seeded_key_arn(emulator):
    """The ARN of the key behind alias/sagekeeper (the seed creates both; the key's id differs
    every time), asked of the emulator directly."""
    request = urllib.request.Request(emulator.url + "/", method="POST", data=json.dumps({"KeyId": "alias/sagekeeper"}).encode(),
                                     headers={"X-Amz-Target": "TrentService.DescribeKey",
                                              "Content-Type": "application/x-amz-json-1.1",
                                              "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/"
                                                               f"{REGION}/kms/aws4_request, SignedHeaders=host, Signature=0"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["KeyMetadata"]["Arn"]


LATENCY_CASES = [
    ("endpoints", "endpoint-scheduler", "scheduled.json", C7N_ENDPOINTS),
    ("buckets", "encryption-enforcer", "scheduled.json", C7N_BUCKETS_JOB),
]


def aggregate(runs):
    """One tool's runs of one case (trials) as one entry: medians, and the maximum of maxima."""
    operations = sorted({op for r in runs for op in r["operations"]})
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "requests": statistics.median(r["proxy_requests"] for r in runs),
        "emulator_requests": statistics.median(r["requests"] for r in runs),
        "operations": {op: statistics.median(r["operations"].get(op, 0) for r in runs) for op in operations},
        "in_flight_mean": statistics.median(r["in_flight"]["mean"] for r in runs),
        "in_flight_max": max(r["in_flight"]["max"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "proxy_cpu_s": statistics.median(r["proxy_cpu_s"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
        "timed_out": any(r["timed_out"] for r in runs),
        "max_silence_s": max(r["max_silence_s"] for r in runs),
        "exits": [r["exit"] for r in runs],
    }


def latency_compare(n, latencies, trials, emulator, workdir, throughput_seconds):
    """The job (real runs) of both tools at each latency, each run on a freshly seeded account,
    alternating which tool goes first; and the emulator's own throughput on the seeded state."""
    proxies = {}
    try:
        for latency in latencies:
            proxies[latency] = Proxy(emulator.url, latency)
        emulator.reset()
        seed(emulator, n)
        throughput = {"direct": emulator_throughput(emulator.url, n, throughput_seconds)}
        log(f"n{n}: the emulator alone answers {throughput['direct']['requests_per_s']:.0f} requests/s "
            f"({json.dumps(throughput['direct'])})")
        if 0 in proxies:
            throughput["proxy_0ms"] = emulator_throughput(proxies[0].url, n, throughput_seconds)
            log(f"n{n}: through the 0 ms proxy {throughput['proxy_0ms']['requests_per_s']:.0f} requests/s")
        runs = {(latency, kind): {"ours": [], "custodian": []} for latency in latencies for kind, *_ in LATENCY_CASES}
        fresh = True  # the throughput burst only read the seeded state: the first run can use it
        for trial in range(trials):
            order = ["ours", "custodian"] if trial % 2 == 0 else ["custodian", "ours"]
            for latency in latencies:
                proxy = proxies[latency]
                for kind, function, event, policy in LATENCY_CASES:
                    for tool in order:
                        if not fresh:
                            emulator.reset()
                            seed(emulator, n)
                        fresh = False
                        label = f"n{n}-{latency:g}ms-{kind}-{tool}-t{trial}"
                        if tool == "ours":
                            # The job encrypts with the key Custodian's policy names; without a
                            # KMS_KEY_ARN the enforcer reports SSE-KMS findings and skips the fix.
                            result = ours(function, event, False, emulator, "bench-state", label, proxy=proxy,
                                          env={"KMS_KEY_ARN": seeded_key_arn(emulator)})
                        else:
                            result = custodian(policy, False, emulator, workdir, label, proxy=proxy)
                        log(f"{label}: {result['seconds']:.1f} s, {result['proxy_requests']} requests "
                            f"({result['requests']} answered by the emulator), in flight "
                            f"{result['in_flight']['mean']:.2f} mean / {result['in_flight']['max']} max, "
                            f"CPU {result['cpu_s']:.2f} s, RSS {result['rss_mb']:.1f} MB, exit {result['exit']}"
                            + (", TIMED OUT" if result["timed_out"] else ""))
                        runs[(latency, kind)][tool].append(result)
    finally:
        for proxy in proxies.values():
            proxy.stop()
    rows = []
    for (latency, kind), by_tool in runs.items():
        row = {"n": n, "latency_ms": latency, "kind": kind, **{tool: aggregate(r) for tool, r in by_tool.items()}}
        log(json.dumps({k: v for k, v in row.items()}, default=str)[:2000])
        rows.append(row)
    return rows, throughput


BASELINE = """
import time, sys
start = time.monotonic()
import boto3
client = boto3.client("resourcegroupstaggingapi")
client.get_resources(ResourceTypeFilters=["sagemaker:endpoint"], TagFilters=[{"Key": "AutoShutdown"}])
"""


def multicall_binary():
    """The multi-call binary's path, or None when it was not built (then it is not measured)."""
    path = os.path.join(Settings.binaries, MULTICALL)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def cold_start(emulator, repeats=10):
    """Process start to first event handled: each function's own binary and the multi-call binary
    run as that function (same event, environment and arguments, the two alternating), on an event
    needing one call (a schedule in an empty account), against Python + boto3 making that same
    first call. Medians of `repeats` runs: `results` (own binaries and Python, the stored format
    of earlier runs), `multicall` (None when the binary is absent) and, per program, the exit
    codes other than 0 seen (a run that fails early would look fast)."""
    emulator.reset()
    # An empty account with its state bucket: the scheduler reads snapshots and takes its run
    # lease there, and fails its run without it.
    seed(emulator, 0)
    results, multicall, exits = {}, {}, {}
    env = env_for(emulator, {"STATE_BUCKET": "bench-state", "DRY_RUN": "true"})
    events = {"endpoint-scheduler": "scheduled.json", "encryption-enforcer": "scheduled.json",
              "drift-retrainer": "alarm-eventbridge-ok.json", "lifecycle-tagger": "scheduled.json"}
    multi = multicall_binary()
    if multi is None:
        log(f"no multi-call binary `{MULTICALL}` in {Settings.binaries}: cold start of the function binaries "
            "and Python only")

    def run(command, run_env, label, program, times):
        result = measure(command, run_env, emulator, label)
        times.append(result["seconds"])
        if result["exit"] != 0:
            exits.setdefault(program, set()).add(result["exit"])

    for function in FUNCTIONS:
        arguments = ["--event", os.path.join(ROOT, "events", events[function])]
        own_times, multi_times = [], []
        for _ in range(repeats):
            run([os.path.join(Settings.binaries, function), *arguments], env, f"cold-{function}", function, own_times)
            if multi is not None:
                run([multi, *arguments], {**env, MULTICALL_VARIABLE: function}, f"cold-{MULTICALL}-{function}",
                    f"{MULTICALL} as {function}", multi_times)
        results[function] = statistics.median(own_times)
        if multi is not None:
            multicall[function] = statistics.median(multi_times)
    times = []
    for _ in range(repeats):
        run([PY, "-c", BASELINE], env, "cold-python", "python-boto3", times)
    results["python-boto3"] = statistics.median(times)
    for program, codes in exits.items():
        log(f"cold start: {program} exited {', '.join(map(str, sorted(codes)))} (see its stderr in {Settings.logs})")
    return {"results": results, "multicall": multicall if multi is not None else None,
            "exits": {program: sorted(codes) for program, codes in exits.items()}}


def binary_sizes():
    """Each binary's size and the size of the zip Lambda would get for it (the binary alone,
    named `bootstrap`, deflated at the default level, as `sam package` zips it), in MiB; None for a binary that is absent."""
    mib = 1024 * 1024
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="bench-zip-") as tmp:
        for name in FUNCTIONS + [MULTICALL]:
            path = os.path.join(Settings.binaries, name)
            if not os.path.isfile(path):
                log(f"binary sizes: no `{name}` in {Settings.binaries}; not measured")
                sizes[name] = None
                continue
            archive = os.path.join(tmp, f"{name}.zip")
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
                z.write(path, arcname="bootstrap")
            sizes[name] = {"mib": os.path.getsize(path) / mib, "zip_mib": os.path.getsize(archive) / mib}
            os.remove(archive)
    return sizes


# ---------------------------------------------------------------------------------------------
# Load: one invocation against the Lambda timeout of template.yaml
# ---------------------------------------------------------------------------------------------

def lambda_timeouts():
    """Each function's Timeout in seconds: its own Properties.Timeout, else Globals.Function's,
    else Lambda's default of 3 s. CloudFormation tags (!Ref, !If, ...) are read as plain data."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def any_tag(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("!", any_tag)
    with open(TEMPLATE) as f:
        template = yaml.load(f, Loader=Loader)
    default = (template.get("Globals") or {}).get("Function", {}).get("Timeout", 3)
    timeouts = {}
    for function, logical_id in LOGICAL_IDS.items():
        properties = template["Resources"][logical_id].get("Properties") or {}
        timeouts[function] = int(properties.get("Timeout", default))
    return timeouts


LOAD_FUNCTIONS = [
    # function, resources it sweeps per unit of N, what it does with them
    ("endpoint-scheduler", 1, "N endpoints: reads each one's tags, schedule and state, parks the opted-in half "
     "(snapshot written and verified, autoscaling captured, then delete)"),
    ("encryption-enforcer", 2, "N buckets and N endpoint configs: each bucket's encryption, policy, public access "
     "block and tags, each endpoint config and the keys they use; encrypts the unencrypted half of the buckets"),
    ("lifecycle-tagger", 4, "N endpoints, N endpoint configs, N models and N buckets: their tags, each bucket's "
     "lifecycle rules by data class, log retention, idle-endpoint metrics; tags and configures what lacks it"),
]


def summary_of(stdout_path):
    try:
        report = json.load(open(stdout_path))
    except (OSError, ValueError):
        return None
    return report.get("summary") if isinstance(report, dict) else None


def load_test(n, margin, emulator):
    timeouts = lambda_timeouts()
    rows = []
    for function, per_n, sweeps in LOAD_FUNCTIONS:
        emulator.reset()
        seed(emulator, n)
        timeout = timeouts[function]
        label = f"load-{n}-{function}"
        stdout_path = os.path.join(Settings.logs, f"{label}.json")
        result = ours(function, "scheduled.json", False, emulator, "bench-state", label,
                      timeout=timeout, stdout_path=stdout_path)
        summary = summary_of(stdout_path) or {}
        rate = n / max(result["seconds"], 1e-9)
        row = {
            "function": function, "sweeps": sweeps, "resources": per_n * n, "n": n, "timeout_s": timeout,
            "seconds": result["seconds"], "requests": result["requests"], "rss_mb": result["rss_mb"],
            "timed_out": result["timed_out"], "exit": result["exit"], "max_silence_s": result["max_silence_s"],
            "actions_done": summary.get("actions_done"), "actions_failed": summary.get("actions_failed"),
            "errors": summary.get("errors"), "findings": summary.get("findings"),
            "rate_per_s": rate, "resources_per_s": per_n * rate,
            "largest_account": int(rate * timeout * (1 - margin)),
        }
        row["within_timeout"] = not result["timed_out"] and result["seconds"] <= timeout
        row["ok"] = row["within_timeout"] and result["exit"] == 0 and not summary.get("errors") \
            and not summary.get("actions_failed")
        log(f"{label}: {json.dumps({k: v for k, v in row.items() if k != 'sweeps'})}")
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Results store and BENCHMARKS.md
# ---------------------------------------------------------------------------------------------

def load_results():
    try:
        with open(RESULTS) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def save_results(results):
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")


def machine():
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.machine()}"


def binaries_built():
    """When the binaries measured were built (the newest of them; the multi-call binary counts
    when it is there)."""
    names = FUNCTIONS + ([MULTICALL] if multicall_binary() else [])
    try:
        newest = max(os.path.getmtime(os.path.join(Settings.binaries, f)) for f in names)
    except OSError:
        return None
    return f"{datetime.datetime.fromtimestamp(newest, datetime.timezone.utc):%Y-%m-%d %H:%M UTC}"


def run_info(command):
    loads = Settings.loads or [os.getloadavg()[0]]
    info = {"date": f"{now_utc():%Y-%m-%d %H:%M UTC}", "command": command, "machine": machine(),
            "load_min": round(min(loads), 1), "load_max": round(max(loads), 1), "binaries_built": binaries_built()}
    if os.path.abspath(Settings.binaries) != RELEASE:
        info["binaries"] = os.path.relpath(Settings.binaries, ROOT)
    return info


def describe_run(info):
    text = f"Measured {info['date']} by `{info['command']}` on {info['machine']}"
    if info.get("binaries"):
        text += f", **binaries from `{info['binaries']}`, not the release build**"
        if info.get("binaries_built"):
            text += f", built {info['binaries_built']}"
    elif info.get("binaries_built"):
        text += f", release binaries built {info['binaries_built']}"
    if info["load_max"] > (os.cpu_count() or 1) + 0.5:
        text += (f"; the machine was shared: the 1-minute load average, sampled after each run, was "
                 f"{info['load_min']}–{info['load_max']} on {os.cpu_count()} cores (other builds ran meanwhile), "
                 "so treat times as upper bounds")
    return text + "."


def seconds_cell(tool):
    if tool.get("timed_out"):
        return f"> {tool['seconds']:.0f} (cap)"
    return f"{tool['seconds']:.2f}"


GENERATED = ("Comparison with Cloud Custodian", "At AWS latency", "Cold start", "Release binary sizes", "Load")


def kept_sections():
    """Hand-written `## ` sections of the current BENCHMARKS.md (those the bench does not
    generate), kept verbatim at the end."""
    try:
        text = open(REPORT).read()
    except OSError:
        return []
    sections, current = [], None
    for line in text.splitlines():
        if line.startswith("## "):
            current = None if line[3:].startswith(GENERATED) else [line]
            if current is not None:
                sections.append(current)
        elif current is not None:
            current.append(line)
    return ["\n".join(s).rstrip() for s in sections]


def floor_seconds(requests, latency_ms, concurrency, throughput):
    """The least wall time `requests` calls can take: each waits `latency_ms` with `concurrency`
    in flight, and the emulator answers at most `throughput` a second."""
    return max(requests * latency_ms / 1000 / concurrency, requests / max(throughput, 1e-9))


def job_total(rows, tool):
    """The whole job (endpoints + buckets) of one tool at one latency: times, requests and CPU
    add up; the in-flight mean is weighted by each run's wall time; maxima are maxima."""
    runs = [r[tool] for r in rows]
    seconds = sum(t["seconds"] for t in runs)
    return {
        "seconds": seconds, "requests": sum(t["requests"] for t in runs), "cpu_s": sum(t["cpu_s"] for t in runs),
        "in_flight_mean": sum(t["in_flight_mean"] * t["seconds"] for t in runs) / max(seconds, 1e-9),
        "in_flight_max": max(t["in_flight_max"] for t in runs), "rss_mb": max(t["rss_mb"] for t in runs),
        "timed_out": any(t.get("timed_out") for t in runs),
    }


def latency_section(latency):
    """## At AWS latency, from results["latency"]."""
    sizes = sorted(latency, key=int)
    concurrencies = sorted({latency[n]["floor_concurrency"] for n in sizes})
    lines = [
        "", "## At AWS latency", "",
        "The job, side by side on the same seeded state (N endpoints, half opted in to parking; N buckets, half "
        "unencrypted, every fifth with a policy): park the opted-in endpoints, and bring every bucket to SSE-KMS, a "
        "bucket policy denying requests without TLS and a public access block. Ours: the real (not dry-run) "
        "scheduled sweeps of the endpoint-scheduler and the encryption-enforcer (with `KMS_KEY_ARN` set to the key behind "
        "`alias/sagekeeper`, the key Custodian's policy names). Cloud Custodian 0.9.53: "
        "`sagemaker-endpoint` tag filter + `delete`, and three `s3` policies in one run (`bucket-encryption` + "
        "`set-bucket-encryption` with the KMS alias; `missing-statement` + `set-statements` with a "
        "`aws:SecureTransport` deny; `check-public-block` + `set-public-block`). Every run starts from a freshly "
        "seeded account and sends its calls through `scripts/faultproxy.py --rate 0 --fixed-latency-ms MS` (no "
        "faults; every call waits MS before it reaches the emulator: at 50 ms, the round trip of an AWS API call "
        "from a Lambda; at 0 ms, the proxy alone).",
        "",
        "Requests are counted by the proxy, per operation. Calls in flight are those the proxy holds (received, "
        "not yet answered, its delay included): the time-weighted mean over the run (the integral of the count, "
        "which changes only when a call starts or ends, over the run's wall time) and the maximum. CPU is the "
        "tool's user + system time (the process and the children it waited for, from `wait4`); RSS its peak. "
        "The emulator's own throughput T is measured in the same run, on the seeded state, without the proxy: 8 "
        "clients sending cheap reads (S3 GetBucketEncryption, SageMaker DescribeEndpoint) back to back. Our floor "
        "is the larger of `requests × latency / C` and `requests / T`, with C = "
        + " or ".join(str(c) for c in concurrencies) + " calls in flight (`--floor-concurrency`); "
        "`ours ÷ floor` is how far our wall time is above it. Medians over the trials (in-flight and RSS maxima "
        "are maxima).",
        "",
    ]
    for n in sizes:
        entry = latency[n]
        text = f"- N = {n}: {describe_run(entry)}"
        t = entry["throughput"]
        text += f" T = {t['direct']['requests_per_s']:.0f} requests/s ({t['direct']['requests']:,} in " \
                f"{t['direct']['seconds']:.1f} s"
        if t["direct"].get("errors"):
            text += f", {t['direct']['errors']} failed"
        text += ")"
        if t.get("proxy_0ms"):
            text += f"; through the 0 ms proxy, {t['proxy_0ms']['requests_per_s']:.0f} requests/s"
        lines.append(text + ".")
    for n in sizes:
        entry = latency[n]
        rows = entry["rows"]
        throughput = entry["throughput"]["direct"]["requests_per_s"]
        concurrency = entry["floor_concurrency"]
        lines += [
            "", f"### N = {n}", "",
            "| latency | job | ours s | Custodian s | speed-up | ours requests | Custodian requests | ratio | "
            "ours in flight mean / max | Custodian in flight mean / max | ours CPU s | Custodian CPU s | "
            "ours RSS MB | Custodian RSS MB | our floor s | ours ÷ floor |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for latency_ms in entry["latencies"]:
            at = [r for r in rows if r["latency_ms"] == latency_ms]
            lines_at = [(r["kind"], r["ours"], r["custodian"]) for r in at]
            if len(at) > 1:
                lines_at.append(("**whole job**", job_total(at, "ours"), job_total(at, "custodian")))
            for kind, o, c in lines_at:
                speedup = f"{c['seconds'] / max(o['seconds'], 1e-9):.1f}×"
                if o.get("timed_out"):
                    speedup = "—"
                elif c.get("timed_out"):
                    speedup = "> " + speedup
                floor = floor_seconds(o["requests"], latency_ms, concurrency, throughput)
                lines.append(
                    f"| {latency_ms:g} ms | {kind} | {seconds_cell(o)} | {seconds_cell(c)} | {speedup} | "
                    f"{o['requests']:,.0f} | {c['requests']:,.0f} | {o['requests'] / max(c['requests'], 1):.2f} | "
                    f"{o['in_flight_mean']:.2f} / {o['in_flight_max']} | {c['in_flight_mean']:.2f} / {c['in_flight_max']} | "
                    f"{o['cpu_s']:.2f} | {c['cpu_s']:.2f} | {o['rss_mb']:.1f} | {c['rss_mb']:.1f} | "
                    f"{floor:.2f} | {o['seconds'] / max(floor, 1e-9):.1f}× |")
        zero = [r for r in rows if r["latency_ms"] == 0]
        if zero:
            observed = sum(r["ours"]["requests"] for r in zero) / max(sum(r["ours"]["seconds"] for r in zero), 1e-9)
            lines += ["", f"At 0 ms our whole job made {observed:.0f} requests/s (the emulator alone: {throughput:.0f})."]
        odd = [f"{r['latency_ms']:g} ms {r['kind']} {tool}: exit {r[tool]['exits']}" for r in rows
               for tool in ("ours", "custodian") if any(code != 0 for code in r[tool]["exits"])]
        if odd:
            lines += ["", "Runs that did not exit 0: " + "; ".join(odd) + "."]
        columns = [(tool, latency_ms) for tool in ("ours", "custodian") for latency_ms in entry["latencies"]]
        names = {"ours": "ours", "custodian": "Custodian"}
        lines += ["", f"Requests per operation at N = {n} (as the proxy names them: the service of the call's "
                  "signature and its operation):", "",
                  "| job | operation | " + " | ".join(f"{names[t]} {l:g} ms" for t, l in columns) + " |",
                  "|---|---|" + "---|" * len(columns)]
        for kind in [k for k, *_ in LATENCY_CASES if any(r["kind"] == k for r in rows)]:
            by = {(tool, r["latency_ms"]): r[tool]["operations"] for r in rows if r["kind"] == kind
                  for tool in ("ours", "custodian")}
            for op in sorted({op for ops in by.values() for op in ops}):
                lines.append(f"| {kind} | {op} | " + " | ".join(
                    f"{by.get(col, {}).get(op, 0):,.0f}" for col in columns) + " |")
            lines.append(f"| {kind} | **total** | " + " | ".join(
                f"{sum(by.get(col, {}).values()):,.0f}" for col in columns) + " |")
    return lines


def cold_start_section(cold):
    """## Cold start. Results stored before the multi-call binary existed have no `multicall`
    key: their table has no column for it."""
    c = cold["results"]
    python = c.get("python-boto3")
    with_multicall = "multicall" in cold
    multi = cold.get("multicall")

    def faster(seconds):
        return f"{python / max(seconds, 1e-9):.1f}× faster" if python is not None and seconds is not None else "—"

    lines = ["", "## Cold start", "", describe_run(cold["info"]), "",
             "Process start to first event handled (one AWS call), median of 10, from a shell; the baseline is "
             "Python importing boto3 and making the same call."]
    if with_multicall:
        lines[-1] += (f" The multi-call column runs `{MULTICALL}` (the one binary the template deploys for all four "
                      f"functions) with `{MULTICALL_VARIABLE}=<function>`: same event, environment, arguments and "
                      "repeats as the function's own binary, the two alternating.")
        if multi is None:
            lines[-1] += f" **The multi-call binary `{MULTICALL}` was not found among the binaries measured: not measured.**"
        lines += ["", f"| program | own binary s | multi-call `{MULTICALL}` s | own vs Python | multi-call vs Python |",
                  "|---|---|---|---|---|"]
    else:
        lines += ["", "| program | seconds | vs Python |", "|---|---|---|"]
    for name, seconds in sorted(c.items(), key=lambda item: item[0] == "python-boto3"):
        if not with_multicall:
            lines.append(f"| {name} | {seconds:.3f} | {faster(seconds) if name != 'python-boto3' else '—'} |")
        elif name == "python-boto3":
            lines.append(f"| {name} | {seconds:.3f} | — | — | — |")
        else:
            m = (multi or {}).get(name)
            lines.append(f"| {name} | {seconds:.3f} | {'—' if m is None else format(m, '.3f')} | {faster(seconds)} | "
                         f"{faster(m)} |")
    if cold.get("exits"):
        lines += ["", "Runs that did not exit 0 (a run that fails early looks fast; its stderr is in the bench's "
                  "logs): " + "; ".join(f"{program}: exit {', '.join(map(str, codes))}"
                                        for program, codes in sorted(cold["exits"].items())) + "."]
    return lines


def sizes_section(sizes):
    """## Release binary sizes. Sizes stored before the multi-call binary existed are a plain
    {function: MiB} without measurement info or zip sizes."""
    lines = ["", "## Release binary sizes (x86_64, stripped, LTO)", ""]
    if "binaries" not in sizes:
        lines += ["| function | MiB |", "|---|---|"]
        lines += [f"| {name} | {size:.1f} |" for name, size in sizes.items()]
    else:
        binaries = sizes["binaries"]
        lines += [describe_run(sizes["info"]), "",
                  "MiB of each binary, and of the zip Lambda would get for it: the binary alone, named `bootstrap`, "
                  f"deflated at the default level (Python's zipfile, as `sam package` zips it). The template deploys the multi-call binary `{MULTICALL}` "
                  "for all four functions; the function binaries are what one artifact per function would ship.", "",
                  "| binary | MiB | zip MiB |", "|---|---|---|"]
        for name in [n for n in binaries if n != MULTICALL] + [MULTICALL]:
            size = binaries.get(name)
            label = f"{name} (multi-call, all four functions)" if name == MULTICALL else name
            lines.append(f"| {label} | not found | — |" if size is None
                         else f"| {label} | {size['mib']:.1f} | {size['zip_mib']:.1f} |")
        own = [binaries.get(function) for function in FUNCTIONS]
        multi = binaries.get(MULTICALL)
        if all(own) and multi:
            lines += ["", f"The four function binaries together: {sum(s['mib'] for s in own):.1f} MiB "
                      f"({sum(s['zip_mib'] for s in own):.1f} MiB zipped); the multi-call binary that replaces them: "
                      f"{multi['mib']:.1f} MiB ({multi['zip_mib']:.1f} MiB zipped)."]
        elif multi is None:
            lines += ["", f"The multi-call binary `{MULTICALL}` was not found among the binaries measured."]
    lines += ["", "aarch64 (`cargo lambda build --arm64`) needs the aarch64 standard library, which is not "
              "installed on this machine; not measured."]
    return lines


def write_report(results):
    lines = [
        "# Benchmarks",
        "",
        f"Written {now_utc():%Y-%m-%d %H:%M UTC} by `bench/bench.py` from the measurements in `bench/results.json`; "
        "each section names the command, date and machine of its measurements, and re-running that command "
        "measures again and regenerates this file (the other sections are kept). All measurements are against "
        "a private moto 5.2.5 server on loopback. Everything, from scratch: `python3 bench/bench.py --sizes 100,1000,5000 "
        "--trials 1`, then `python3 bench/bench.py --load 5000`, then `python3 bench/bench.py --latency-ms 0,50 --sizes 300,1000 "
        "--trials 1` (add `--skip-build` when the release binaries are current); `python3 bench/bench.py --cold-start` "
        "measures only cold start and binary sizes again.",
    ]
    comparison = results.get("comparison", {})
    if comparison:
        lines += [
            "", "## Comparison with Cloud Custodian", "",
            "Our release binaries vs Cloud Custodian 0.9.53 (`sagemaker-endpoint` tag filter + `delete`; `s3` "
            "`bucket-encryption` + `set-bucket-encryption` with a KMS alias), on the same freshly seeded state "
            "(N endpoints, half opted in; N buckets, half unencrypted). Dry runs share one seeded state (they "
            "change nothing); every real run starts from a freshly seeded account. Medians over the trials; "
            "requests are those the emulator answered; RSS is the tool process's peak. Our enforcer evaluates "
            "all its rules (encryption, TLS policy, public access block, key rotation) on every bucket and also "
            "the N endpoint configs, more than the Custodian policy does. A run stopped at the per-tool time cap "
            "shows `> cap`; its requests are those answered until then.",
            "",
        ]
        for n in sorted(comparison, key=int):
            lines.append(f"- N = {n}: {describe_run(comparison[n])}")
        lines += [
            "",
            "| N | resources | mode | ours s | Custodian s | speed-up | ours requests | Custodian requests | ratio | ours RSS MB | Custodian RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        rows = [r for n in sorted(comparison, key=int) for r in comparison[n]["rows"]]
        for r in rows:
            o, c = r["ours"], r["custodian"]
            speedup = f"{c['seconds'] / max(o['seconds'], 1e-9):.1f}×"
            if c.get("timed_out") and not o.get("timed_out"):
                speedup = "> " + speedup
            elif o.get("timed_out"):
                speedup = "—"
            lines.append(
                f"| {r['n']} | {r['kind']} | {r['mode']} | {seconds_cell(o)} | {seconds_cell(c)} | {speedup} | "
                f"{o['requests']:.0f} | {c['requests']:.0f} | {o['requests'] / max(c['requests'], 1):.2f} | "
                f"{o['rss_mb']:.1f} | {c['rss_mb']:.1f} |")
        sizes_n = sorted({r["n"] for r in rows})
        if len(sizes_n) > 1:
            hi = sizes_n[-1]
            lines += ["", f"Growth of wall time up to N = {hi} (linear growth would equal the N ratio; small N carry "
                      "each tool's fixed start-up cost):", ""]
            for kind in ("endpoints", "buckets"):
                for mode in ("dry run", "real"):
                    for tool, name in (("ours", "ours"), ("custodian", "Custodian")):
                        pick = {r["n"]: r[tool] for r in rows if r["kind"] == kind and r["mode"] == mode}
                        if hi not in pick or pick[hi].get("timed_out"):
                            continue
                        steps = [f"×{pick[hi]['seconds'] / max(pick[lo]['seconds'], 1e-9):.1f} from N = {lo} (×{hi / lo:.0f} resources)"
                                 for lo in sizes_n[:-1] if lo in pick]
                        if steps:
                            lines.append(f"- {kind}, {mode}, {name}: " + ", ".join(steps))
        silences = [(r, tool) for r in rows for tool in ("ours", "custodian") if r[tool].get("max_silence_s", 0) >= 10]
        lines += ["", "Longest time without any answered request during a run (a stall watch; runs below 10 s are not "
                  "listed): " + ("none." if not silences else "; ".join(
                      f"N = {r['n']} {r['kind']} {r['mode']} {tool}: {r[tool]['max_silence_s']:.0f} s" for r, tool in silences) + ".")]
    if results.get("latency"):
        lines += latency_section(results["latency"])
    if results.get("cold_start"):
        lines += cold_start_section(results["cold_start"])
    if results.get("sizes"):
        lines += sizes_section(results["sizes"])
    load = results.get("load")
    if load:
        margin = load["margin"]
        lines += ["", "## Load: one invocation within the Lambda timeout", "", describe_run(load["info"]), "",
                  f"Each function's real (not dry-run) scheduled sweep, run once as one invocation would run it, on a "
                  f"freshly seeded account of N = {load['n']:,} endpoints (each with its model and endpoint config, half "
                  f"opted in to parking) and N buckets (half unencrypted), with the function's `Timeout` from "
                  f"template.yaml (Globals, overridden per function) as a hard cap. The bench fails (exit 1) when a "
                  f"sweep does not finish within its timeout or reports errors. Resources per second count what the "
                  f"function sweeps (below); the largest account one invocation handles is the N it would sweep in "
                  f"{1 - margin:.0%} of its timeout at the measured rate (a {margin:.0%} safety margin for slower "
                  f"APIs, throttling and retries), assuming the linear growth the comparison above measures.", "",
                  "| function | Timeout s | N | resources swept | seconds | requests | RSS MB | actions done / failed | errors | within timeout | resources/s | largest account per invocation (N endpoints + N buckets) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in load["rows"]:
            seconds = f"> {r['seconds']:.0f} (cap)" if r["timed_out"] else f"{r['seconds']:.1f}"
            lines.append(
                f"| {r['function']} | {r['timeout_s']} | {r['n']:,} | {r['resources']:,} | {seconds} | {r['requests']:,} | "
                f"{r['rss_mb']:.1f} | {r['actions_done']} / {r['actions_failed']} | {r['errors']} | "
                f"{'yes' if r['within_timeout'] else '**no**'} | {r['resources_per_s']:.0f} | "
                f"{'N ≈ ' + format(r['largest_account'], ',') if not r['timed_out'] else 'below ' + format(r['n'], ',')} |")
        lines += [""] + [f"- {r['function']} sweeps {r['sweeps']}. This run: {r['actions_done']:,} actions done, "
                         f"{r['findings']:,} findings." for r in load["rows"]]
        lines += ["", "Each function runs with its default configuration plus `STATE_BUCKET`, `TIMEZONE=Europe/Madrid` "
                  "(the schedule event falls after business hours) and `BUCKET_PREFIX=bench-`. Without `DEFAULT_TAGS` the "
                  "tagger only reports missing tags and writes none, so a tagger that also writes tags takes longer."]
        smallest = min(load["rows"], key=lambda r: r["largest_account"])
        lines += ["",
                  f"**Largest account one invocation handles: about {smallest['largest_account']:,} endpoints and as many "
                  f"buckets** (the tightest function is the {smallest['function']}), with a {margin:.0%} margin. Beyond "
                  "that size, and for more than one account or region, the organisation fan-out takes over (README, "
                  "Organisations): a scheduled run enqueues one SQS message per (function, account, region) and each "
                  "SQS-triggered invocation sweeps one target within its own timeout, so the limit above applies per "
                  "account and region, not per organisation. A single account-region larger than that would need its "
                  "sweep split further (e.g. by bucket prefix or by resource pages), which neither the single "
                  "invocation nor the fan-out does.",
                  "",
                  "The rate is measured against the emulator, which answers one request every few ms on this "
                  "machine; AWS answers each call in tens of ms but several in parallel (8 calls in flight per "
                  "function), and its per-account API rate limits (SageMaker `Describe*`/`List*`, S3) and the "
                  "adaptive retry mode's back-off can slow a real sweep: the margin is there for that, and the "
                  "numbers should be confirmed in a real account before relying on them."]
    for section in kept_sections():
        lines += ["", section]
    with open(REPORT, "w") as f:
        f.write("\n".join(lines) + "\n")


def cold_start_and_sizes(results, emulator, command):
    """Measures cold start and binary sizes into `results`, replacing only those two sections."""
    cold = cold_start(emulator)
    results["cold_start"] = {"info": run_info(command), **cold}
    sizes = binary_sizes()
    results["sizes"] = {"info": run_info(command), "binaries": sizes}


def main():
    global RESULTS, REPORT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="comma-separated N (default 100,1000,5000; with --latency-ms 300,1000)")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--tool-timeout", type=float, default=1800,
                        help="stop any one measured run after this many seconds and report it as capped")
    parser.add_argument("--stall-seconds", type=float, default=20,
                        help="snapshot connections and threads when no request is answered for this long")
    parser.add_argument("--load", type=int, metavar="N",
                        help="instead of the comparison, the load test: sweeps of N endpoints + N buckets "
                             "within each function's template.yaml timeout")
    parser.add_argument("--margin", type=float, default=0.5, help="load test safety margin (0.5 = use half the timeout)")
    parser.add_argument("--latency-ms", metavar="MS,MS",
                        help="instead of the comparison, the job at AWS latency: both tools through the fault proxy "
                             "(no faults) adding each of these fixed delays to every call (e.g. 0,50)")
    parser.add_argument("--floor-concurrency", type=int, default=8, metavar="C",
                        help="calls in flight our floor assumes: requests x latency / C (default 8)")
    parser.add_argument("--throughput-seconds", type=float, default=5,
                        help="length of the burst that measures the emulator's own throughput (default 5)")
    parser.add_argument("--binaries", default=RELEASE, metavar="DIR",
                        help="our function binaries (default target/release; e.g. target/debug for a smoke run, "
                             "with --skip-build)")
    parser.add_argument("--results", default=RESULTS, metavar="PATH", help="measurements file (default bench/results.json)")
    parser.add_argument("--report", default=REPORT, metavar="PATH", help="markdown report (default BENCHMARKS.md)")
    parser.add_argument("--ours-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for our binaries (e.g. AWS_RETRY_MODE=standard); noted in the report")
    parser.add_argument("--cold-start", action="store_true",
                        help="instead of the comparison, only cold start (each function's own binary and the "
                             "multi-call binary, against Python + boto3) and binary sizes with their Lambda zips")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: rewrite BENCHMARKS.md from bench/results.json")
    parser.add_argument("--logs", help="directory for the tools' stderr and stall snapshots (default: a new temp dir)")
    args = parser.parse_args()
    RESULTS, REPORT = os.path.abspath(args.results), os.path.abspath(args.report)
    Settings.binaries = os.path.abspath(os.path.join(ROOT, args.binaries))
    latencies = None
    if args.latency_ms is not None:
        latencies = [float(ms) for ms in args.latency_ms.split(",")]
        latencies = [int(ms) if ms.is_integer() else ms for ms in latencies]
        if any(ms < 0 for ms in latencies) or len(set(latencies)) != len(latencies):
            parser.error("--latency-ms: distinct delays of 0 ms or more, e.g. 0,50")
        if args.load:
            parser.error("--latency-ms and --load are separate runs")
    if args.cold_start and (args.load or latencies):
        parser.error("--cold-start is a separate run from --load and --latency-ms")
    sizes = [int(n) for n in (args.sizes or ("300,1000" if latencies else "100,1000,5000")).split(",")]
    if args.report_only:
        write_report(load_results())
        log(f"wrote {REPORT} from {RESULTS}")
        return
    Settings.tool_timeout = args.tool_timeout
    Settings.stall_seconds = args.stall_seconds
    Settings.ours_env = dict(item.split("=", 1) for item in args.ours_env)
    Settings.logs = args.logs or tempfile.mkdtemp(prefix="bench-logs-")
    os.makedirs(Settings.logs, exist_ok=True)
    log(f"tool stderr and stall snapshots go to {Settings.logs}")
    command = "python3 bench/bench.py " + " ".join(sys.argv[1:])
    if not args.skip_build and os.path.abspath(Settings.binaries) != RELEASE:
        parser.error("--binaries other than target/release needs --skip-build (the bench builds release binaries)")
    ensure_tools(args.skip_build)
    emulator = Emulator()
    workdir = tempfile.mkdtemp(prefix="bench-")
    results = load_results()
    failed = False
    try:
        if args.load:
            rows = load_test(args.load, args.margin, emulator)
            results["load"] = {"info": run_info(command), "n": args.load, "margin": args.margin, "rows": rows}
            failed = not all(r["ok"] for r in rows)
        elif args.cold_start:
            Settings.loads = []
            cold_start_and_sizes(results, emulator, command)
        elif latencies:
            measured = results.setdefault("latency", {})
            for n in sizes:
                Settings.loads = []
                rows, throughput = latency_compare(n, latencies, args.trials, emulator, workdir, args.throughput_seconds)
                measured[str(n)] = {**run_info(command), "trials": args.trials, "latencies": latencies,
                                    "floor_concurrency": args.floor_concurrency, "throughput": throughput, "rows": rows}
                save_results(results)
                write_report(results)
                log(f"N = {n} at AWS latency done; wrote {REPORT}")
        else:
            comparison = results.setdefault("comparison", {})
            for n in sizes:
                trials = args.trials if n < 5000 else 1
                Settings.loads = []
                rows = compare(n, trials, emulator, workdir)
                comparison[str(n)] = {**run_info(command), "trials": trials, "rows": rows}
                save_results(results)
                write_report(results)
                log(f"N = {n} done; wrote BENCHMARKS.md")
            Settings.loads = []
            cold_start_and_sizes(results, emulator, command)
        save_results(results)
        write_report(results)
        log(f"wrote {REPORT}")
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        log("LOAD TEST FAILED: a sweep did not finish within its Lambda timeout or reported errors")
        sys.exit(1)


if __name__ == "__main__":
    main()
