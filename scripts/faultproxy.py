"""A loopback HTTP proxy in front of the local AWS emulator that injects faults.

Usage: faultproxy.py --upstream http://127.0.0.1:PORT [--rate 0.15] [--seed 7]
                     [--deny-assume-account ACCOUNT]... [--idempotency-tokens]
                     [--latency-ms MS] [--fail-list-objects]
Prints its own URL on the first line of stdout, then serves until killed.

At the given rate, a request gets one of (chosen at random, reproducibly from --seed):
  throttle     HTTP 400 ThrottlingException (JSON/query APIs) or 503 SlowDown (S3)
  error500     HTTP 500 InternalFailure / InternalError
  drop-before  the connection is closed before the request reaches the emulator
  drop-after   the request reaches the emulator, then the connection is closed without an
               answer: the write happened but the client cannot know (the hard case)
GET /__faults answers with the counts, so a test can check that faults were injected:
"requests" (those a random fault could hit), one count per kind above, "denied-assume" and
"replayed" (below). Requests to /moto-api/ pass through untouched.

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
--fail-list-objects: every S3 ListObjectsV2 request gets HTTP 500 InternalError, always (not
  counted in "requests"; counted as "failed-list"), while every other S3 call works: a state
  bucket that cannot be listed although its objects can be read and written.
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
from urllib.parse import parse_qs, urlsplit
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

    def snapshot(self):
        with self.lock:
            return dict(self.counts)


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


def make_handler(upstream, faults, deny_accounts=frozenset(), tokens=None, latency=None, fail_list=False):
    host, port = upstream.hostname, upstream.port

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
            body = self.read_body()
            if self.path == "/__faults":
                payload = json.dumps(faults.snapshot()).encode()
                return self.reply(200, [("Content-Type", "application/json")], payload)
            if self.path.startswith("/moto-api/"):
                return self.reply(*self.forward(body))
            role_arn = assume_role_arn(self.path, self.headers, body) if deny_accounts else None
            if role_arn is not None and account_of(role_arn) in deny_accounts:
                faults.count("denied-assume")
                content_type, payload = access_denied_body(role_arn)
                return self.reply(403, [("Content-Type", content_type)], payload)
            if fail_list and is_list_objects(self.command, self.path, self.headers):
                faults.count("failed-list")
                content_type, payload = error_body("s3", 500)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--deny-assume-account", action="append", default=[], metavar="ACCOUNT")
    parser.add_argument("--idempotency-tokens", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=0, metavar="MS")
    parser.add_argument("--fail-list-objects", action="store_true")
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
    )
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
