"""A loopback HTTP proxy in front of the local AWS emulator that injects faults.

Usage: faultproxy.py --upstream http://127.0.0.1:PORT [--rate 0.15] [--seed 7]
                     [--deny-assume-account ACCOUNT]... [--idempotency-tokens]
                     [--latency-ms MS | --fixed-latency-ms MS] [--fail-list-objects]
                     [--fail-body-containing TEXT]...
Prints its own URL on the first line of stdout, then serves until killed.

At the given rate, a request gets one of (chosen at random, reproducibly from --seed):
  throttle     HTTP 400 ThrottlingException (JSON/query APIs) or 503 SlowDown (S3)
  error500     HTTP 500 InternalFailure / InternalError
  drop-before  the connection is closed before the request reaches the emulator
  drop-after   the request reaches the emulator, then the connection is closed without an
               answer: the write happened but the client cannot know (the hard case)
GET /__faults answers with the counts, so a test can check that faults were injected:
"requests" (those a random fault could hit), one count per kind above, "denied-assume" and
"replayed" (below), and two more entries (next paragraph). Requests to /moto-api/ pass through
untouched. --rate 0 injects no random fault at all.

Every request but those to /moto-api/ and /__faults is also counted per operation and in
flight, for the benchmark (bench/bench.py --latency-ms):
  "operations"  {"service:Operation": count}: the service from the SigV4 credential scope, the
                operation from X-Amz-Target (JSON), Action (query), /operation/NAME (RPC v2
                CBOR), S3's x-id or its method, path and sub-resource (GetBucketEncryption,
                ListObjectsV2, PutObject, ...); else "service:METHOD /first-segment".
  "in-flight"   requests received and not yet answered: "now", "max" (since the start or the
                last reset), "mean" (time-weighted over the window: the integral of the count
                over time, which changes only when a request starts or ends and is summed
                exactly there, divided by the window), "busy-mean" (the same integral divided by
                the time at least one request was in flight), "seconds" (the window),
                "busy-seconds" and "request-seconds" (the integral). A request starts when its
                headers have been read and ends when its answer has been written (or its
                connection dropped), so the proxy's own added delay is in flight.
POST /__faults/reset answers the same JSON, then sets every count to zero and starts a new
window (max := now), so one proxy serves several measured runs.

--deny-assume-account ACCOUNT (repeatable): every STS AssumeRole request (query protocol:
  Action=AssumeRole in the form body or the query string, URL-encoded or not) whose RoleArn is
  in ACCOUNT gets HTTP 403 with STS's XML error AccessDenied ("User: ... is not authorized to
  perform: sts:AssumeRole on resource: <RoleArn>"), as AWS answers when the target account's
  role does not trust the caller. Always, whatever --rate says: it is not a random fault, is
  not counted in "requests", and is counted as "denied-assume".
--idempotency-tokens: a JSON-protocol request carrying a top-level ClientRequestToken that an
  earlier request (same X-Amz-Target) already carried, and that the emulator answered with
  success, gets that first answer again without reaching the emulator; concurrent requests
  with one token wait for the first. AWS documents such operations (e.g. SageMaker
  StartPipelineExecution) as completing no more than once per token, but moto ignores the
  token, so without this a retried or duplicated start would start twice in the emulator only.
  Replays are counted as "replayed". Random faults still apply before and after.
--latency-ms MS: every request (but /moto-api/ and /__faults) waits between MS/2 and MS
  milliseconds (drawn reproducibly from --seed) before it is forwarded, as AWS's tens of ms
  would: runs that overlap then interleave their calls, as they do in AWS, instead of one
  finishing before the other has started.
--fixed-latency-ms MS: every request (but /moto-api/ and /__faults) waits MS milliseconds,
  never less and the same for all, before anything else happens to it (a denied AssumeRole or a failed list waits
  too), as a fixed AWS round trip would: the benchmark's model of calling AWS from a Lambda.
  Excludes --latency-ms.
--fail-list-objects: every S3 ListObjectsV2 request gets HTTP 500 InternalError, always (not
  counted in "requests"; counted as "failed-list"), while every other S3 call works: a state
  bucket that cannot be listed although its objects can be read and written.
--fail-body-containing TEXT (repeatable): every request whose body contains TEXT gets HTTP 500
  (InternalFailure / InternalError, in the request's protocol), always (not counted in
  "requests"; counted as "failed-body"): one chosen resource's write fails, e.g. a
  PutRetentionPolicy naming one log group, while the same call for every other resource works.
"""
import argparse
import http.client
import json
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections import Counter
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

KINDS = ["throttle", "error500", "drop-before", "drop-after"]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class Faults:
    def __init__(self, rate, seed):
        self.rate = rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {
            "requests": 0,
            **{kind: 0 for kind in KINDS},
            "denied-assume": 0,
            "replayed": 0,
            "failed-list": 0,
            "failed-body": 0,
        }

    def draw(self):
        with self.lock:
            self.counts["requests"] += 1
            if self.random.random() >= self.rate:
                return None
            kind = self.random.choice(KINDS)
            self.counts[kind] += 1
            return kind

    def count(self, what):
        with self.lock:
            self.counts[what] += 1

    def snapshot(self, reset=False):
        with self.lock:
            counts = dict(self.counts)
            if reset:
                self.counts = dict.fromkeys(self.counts, 0)
            return counts


class Latency:
    def __init__(self, max_ms, seed):
        self.max_ms = max_ms
        self.random = random.Random(seed + 1)
        self.lock = threading.Lock()

    def wait(self):
        if self.max_ms <= 0:
            return
        with self.lock:
            delay = self.random.uniform(self.max_ms / 2, self.max_ms) / 1000
        time.sleep(delay)


class FixedLatency:
    """--fixed-latency-ms: every request waits exactly `ms` milliseconds."""

    def __init__(self, ms):
        self.seconds = ms / 1000

    def wait(self):
        if self.seconds > 0:
            deadline = time.monotonic() + self.seconds
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(left)


class InFlight:
    """Requests in flight: now, max, and the integral of the count over time, advanced exactly
    when a request starts or ends (and when read), so its mean over a window is exact."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = 0
        self.max = 0
        self.start = self.last = time.monotonic()
        self.area = 0.0  # request-seconds since self.start
        self.busy = 0.0  # seconds with at least one request in flight since self.start

    def _advance(self, at):
        elapsed = at - self.last
        self.area += self.now * elapsed
        if self.now:
            self.busy += elapsed
        self.last = at

    def enter(self):
        with self.lock:
            self._advance(time.monotonic())
            self.now += 1
            self.max = max(self.max, self.now)

    def leave(self):
        with self.lock:
            self._advance(time.monotonic())
            self.now -= 1

    def snapshot(self, reset=False):
        with self.lock:
            self._advance(time.monotonic())
            window = self.last - self.start
            snapshot = {
                "now": self.now,
                "max": self.max,
                "mean": self.area / window if window > 0 else 0.0,
                "busy-mean": self.area / self.busy if self.busy > 0 else 0.0,
                "seconds": window,
                "busy-seconds": self.busy,
                "request-seconds": self.area,
            }
            if reset:
                self.start, self.area, self.busy, self.max = self.last, 0.0, 0.0, self.now
            return snapshot


class Operations:
    """Requests per "service:Operation"."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = Counter()

    def count(self, operation):
        with self.lock:
            self.counts[operation] += 1

    def snapshot(self, reset=False):
        with self.lock:
            counts = dict(sorted(self.counts.items()))
            if reset:
                self.counts = Counter()
            return counts


# S3 sub-resources (a query parameter) and the name of what they read or write.
S3_BUCKET_SUBRESOURCES = {
    "accelerate": "BucketAccelerateConfiguration", "acl": "BucketAcl",
    "analytics": "BucketAnalyticsConfiguration", "cors": "BucketCors", "encryption": "BucketEncryption",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration",
    "inventory": "BucketInventoryConfiguration", "lifecycle": "BucketLifecycleConfiguration",
    "location": "BucketLocation", "logging": "BucketLogging", "metrics": "BucketMetricsConfiguration",
    "notification": "BucketNotificationConfiguration", "object-lock": "ObjectLockConfiguration",
    "ownershipControls": "BucketOwnershipControls", "policy": "BucketPolicy",
    "policyStatus": "BucketPolicyStatus", "publicAccessBlock": "PublicAccessBlock",
    "replication": "BucketReplication", "requestPayment": "BucketRequestPayment",
    "tagging": "BucketTagging", "versioning": "BucketVersioning", "website": "BucketWebsite",
}
S3_OBJECT_SUBRESOURCES = {
    "acl": "ObjectAcl", "legal-hold": "ObjectLegalHold", "retention": "ObjectRetention",
    "tagging": "ObjectTagging",
}
VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}


def service_of(headers):
    """The service of a SigV4-signed request (its credential scope), else None."""
    authorization = headers.get("Authorization", "")
    marker = "Credential="
    at = authorization.find(marker)
    if at < 0:
        return None
    scope = authorization[at + len(marker):].split(",", 1)[0].strip().split("/")
    return scope[3] if len(scope) >= 5 else None


def s3_operation(method, path, headers):
    """The S3 operation of a REST request (path-style, or virtual-hosted on a named host)."""
    url = urlsplit(path)
    query = parse_qs(url.query, keep_blank_values=True)
    if query.get("x-id"):
        return query["x-id"][0]
    parts = unquote(url.path).lstrip("/").split("/", 1)
    host = headers.get("Host", "").rsplit(":", 1)[0]
    virtual = host.count(".") > 0 and not host.replace(".", "").isdigit() and not host.startswith("s3.")
    bucket, key = (host.split(".", 1)[0], unquote(url.path).lstrip("/")) if virtual else \
        (parts[0], parts[1] if len(parts) > 1 else "")
    verb = VERBS.get(method, method.title())
    if not bucket:
        return "ListBuckets" if method == "GET" else f"{verb}Service"
    if not key:
        if "delete" in query and method == "POST":
            return "DeleteObjects"
        for name, what in S3_BUCKET_SUBRESOURCES.items():
            if name in query:
                return f"{verb}{what}"
        if method == "GET":
            if query.get("list-type") == ["2"]:
                return "ListObjectsV2"
            if "versions" in query:
                return "ListObjectVersions"
            if "uploads" in query:
                return "ListMultipartUploads"
            return "ListObjects"
        return {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, f"{verb}Bucket")
    if "uploadId" in query:
        if method == "PUT":
            return "UploadPartCopy" if headers.get("x-amz-copy-source") else "UploadPart"
        return {"POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload", "GET": "ListParts"}.get(
            method, f"{verb}MultipartUpload")
    if "uploads" in query and method == "POST":
        return "CreateMultipartUpload"
    if "attributes" in query and method == "GET":
        return "GetObjectAttributes"
    if "restore" in query and method == "POST":
        return "RestoreObject"
    for name, what in S3_OBJECT_SUBRESOURCES.items():
        if name in query:
            return f"{verb}{what}"
    if method == "PUT" and headers.get("x-amz-copy-source"):
        return "CopyObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
        method, f"{verb}Object")


def operation_of(method, path, headers, body):
    """"service:Operation" of a request, as the counts name it (see the docstring)."""
    target = headers.get("X-Amz-Target")
    service = service_of(headers)
    if target:
        prefix, _, operation = target.rpartition(".")
        return f"{service or prefix.lower()}:{operation}"
    url = urlsplit(path)
    params = parse_qs(url.query)
    if headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        for name, values in parse_qs(body.decode("utf-8", "replace")).items():
            params.setdefault(name, []).extend(values)
    if params.get("Action"):
        return f"{service or 'query'}:{params['Action'][0]}"
    segments = url.path.strip("/").split("/")
    if len(segments) == 4 and segments[0] == "service" and segments[2] == "operation":
        return f"{service or segments[1].lower()}:{segments[3]}"
    if service in (None, "s3"):
        return f"s3:{s3_operation(method, path, headers)}"
    return f"{service}:{method} /{segments[0]}"


class Tokens:
    """First successful answers by (X-Amz-Target, ClientRequestToken), for --idempotency-tokens."""

    def __init__(self):
        self.lock = threading.Lock()
        self.locks = {}
        self.answers = {}

    def lock_for(self, key):
        with self.lock:
            return self.locks.setdefault(key, threading.Lock())


def idempotency_key(headers, body):
    """(target, token) of a JSON-protocol request carrying a top-level ClientRequestToken."""
    target = headers.get("X-Amz-Target")
    if not target:
        return None
    try:
        token = json.loads(body or b"{}").get("ClientRequestToken")
    except (ValueError, AttributeError):
        return None
    return (target, token) if isinstance(token, str) and token else None


def assume_role_arn(path, headers, body):
    """The RoleArn of an STS AssumeRole request (query protocol), else None."""
    params = parse_qs(urlsplit(path).query)
    if headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        for name, values in parse_qs(body.decode("utf-8", "replace")).items():
            params.setdefault(name, []).extend(values)
    if params.get("Action") != ["AssumeRole"]:
        return None
    return (params.get("RoleArn") or [""])[0]


def account_of(arn):
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else None


def access_denied_body(role_arn):
    message = f"User: arn:aws:iam::123456789012:user/faultproxy is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    body = f"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(message)}</Message></Error><RequestId>faultproxy</RequestId></ErrorResponse>"
    return "text/xml", body.encode()


def error_body(protocol, status):
    """An error in the shape the SDK parses for the API's protocol."""
    throttled = status != 500
    if protocol == "json":
        code = "ThrottlingException" if throttled else "InternalFailure"
        body = json.dumps({"__type": code, "message": "injected by faultproxy"})
        return "application/x-amz-json-1.1", body.encode()
    if protocol == "s3":
        code = "SlowDown" if throttled else "InternalError"
        body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by faultproxy</Message><RequestId>faultproxy</RequestId></Error>"
        return "application/xml", body.encode()
    code = "Throttling" if throttled else "InternalFailure"
    body = f"<ErrorResponse><Error><Type>{'Sender' if throttled else 'Receiver'}</Type><Code>{code}</Code><Message>injected by faultproxy</Message></Error><RequestId>faultproxy</RequestId></ErrorResponse>"
    return "text/xml", body.encode()


def protocol_of(headers, body):
    if headers.get("X-Amz-Target"):
        return "json"
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("application/x-www-form-urlencoded") and b"Action=" in body:
        return "query"
    return "s3"


def is_list_objects(method, path, headers):
    return method == "GET" and not headers.get("X-Amz-Target") and "list-type=2" in urlsplit(path).query


def make_handler(upstream, faults, deny_accounts=frozenset(), tokens=None, latency=None, fail_list=False,
                 fixed_latency=None, in_flight=None, operations=None, fail_bodies=()):
    host, port = upstream.hostname, upstream.port
    in_flight = in_flight if in_flight is not None else InFlight()
    operations = operations if operations is not None else Operations()

    def counts(reset=False):
        return {**faults.snapshot(reset), "operations": operations.snapshot(reset),
                "in-flight": in_flight.snapshot(reset)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def drop(self):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def forward(self, body):
            connection = http.client.HTTPConnection(host, port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            connection.close()
            return response.status, response.getheaders(), payload

        def forward_once(self, body):
            """`forward`, except that a token already answered gets its first answer again."""
            key = idempotency_key(self.headers, body) if tokens is not None else None
            if key is None:
                return self.forward(body)
            with tokens.lock_for(key):
                if key in tokens.answers:
                    faults.count("replayed")
                    return tokens.answers[key]
                answer = self.forward(body)
                if 200 <= answer[0] < 300:
                    tokens.answers[key] = answer
                return answer

        def reply(self, status, headers, payload):
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def handle_any(self):
            if self.path in ("/__faults", "/__faults/reset") or self.path.startswith("/moto-api/"):
                body = self.read_body()
                if self.path.startswith("/moto-api/"):
                    return self.reply(*self.forward(body))
                if self.path == "/__faults/reset" and self.command != "POST":
                    return self.reply(405, [("Content-Type", "text/plain")], b"POST /__faults/reset\n")
                payload = json.dumps(counts(reset=self.path == "/__faults/reset")).encode()
                return self.reply(200, [("Content-Type", "application/json")], payload)
            in_flight.enter()
            try:
                body = self.read_body()
                operations.count(operation_of(self.command, self.path, self.headers, body))
                if fixed_latency is not None:
                    fixed_latency.wait()
                self.handle_call(body)
            finally:
                in_flight.leave()

        def handle_call(self, body):
            role_arn = assume_role_arn(self.path, self.headers, body) if deny_accounts else None
            if role_arn is not None and account_of(role_arn) in deny_accounts:
                faults.count("denied-assume")
                content_type, payload = access_denied_body(role_arn)
                return self.reply(403, [("Content-Type", content_type)], payload)
            if fail_list and is_list_objects(self.command, self.path, self.headers):
                faults.count("failed-list")
                content_type, payload = error_body("s3", 500)
                return self.reply(500, [("Content-Type", content_type)], payload)
            if any(text in body for text in fail_bodies):
                faults.count("failed-body")
                content_type, payload = error_body(protocol_of(self.headers, body), 500)
                return self.reply(500, [("Content-Type", content_type)], payload)
            if latency is not None:
                latency.wait()
            kind = faults.draw()
            if kind == "drop-before":
                return self.drop()
            if kind in ("throttle", "error500"):
                protocol = protocol_of(self.headers, body)
                status = 500 if kind == "error500" else (503 if protocol == "s3" else 400)
                content_type, payload = error_body(protocol, status)
                return self.reply(status, [("Content-Type", content_type)], payload)
            status, headers, payload = self.forward_once(body)
            if kind == "drop-after":
                return self.drop()
            self.reply(status, headers, payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = handle_any

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # A tool opening many connections at once must not overflow the accept queue (the default
    # of 5 would make some of its connects wait for a SYN retransmission, a second or more).
    request_queue_size = 128


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--deny-assume-account", action="append", default=[], metavar="ACCOUNT")
    parser.add_argument("--idempotency-tokens", action="store_true")
    latency = parser.add_mutually_exclusive_group()
    latency.add_argument("--latency-ms", type=float, default=0, metavar="MS")
    latency.add_argument("--fixed-latency-ms", type=float, default=0, metavar="MS")
    parser.add_argument("--fail-list-objects", action="store_true")
    parser.add_argument("--fail-body-containing", action="append", default=[], metavar="TEXT")
    args = parser.parse_args()
    for account in args.deny_assume_account:
        if not (len(account) == 12 and account.isdigit()):
            parser.error(f"--deny-assume-account: {account!r} is not a 12-digit account id")
    faults = Faults(args.rate, args.seed)
    handler = make_handler(
        urlsplit(args.upstream),
        faults,
        frozenset(args.deny_assume_account),
        Tokens() if args.idempotency_tokens else None,
        Latency(args.latency_ms, args.seed),
        args.fail_list_objects,
        FixedLatency(args.fixed_latency_ms) if args.fixed_latency_ms > 0 else None,
        fail_bodies=tuple(text.encode() for text in args.fail_body_containing),
    )
    server = Server(("127.0.0.1", args.port), handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
