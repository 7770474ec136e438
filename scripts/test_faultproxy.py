"""scripts/faultproxy.py's benchmark side: --fixed-latency-ms delays every request by exactly
that (never less), requests in flight are counted (now, max, time-weighted mean) and per
operation, POST /__faults/reset starts a new window, and --rate 0 injects nothing. The proxy
runs as the Rust tests run it (a subprocess printing its URL) in front of a trivial local HTTP
server standing in for the emulator.

    cd scripts && ../.venv/bin/python -m unittest test_faultproxy
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultproxy import KINDS, operation_of  # noqa: E402

PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "faultproxy.py")
DELAY_MS = 200
TOGETHER = 8  # requests with "together" in their query are held upstream until this many have arrived
SIGNED_S3 = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"


class Upstream(BaseHTTPRequestHandler):
    """Answers every request with 200 and a small JSON body: at once, except that requests with
    "together" in their query wait until TOGETHER of them have arrived, so that they are all in
    flight at the proxy at once however slowly the machine starts them."""

    protocol_version = "HTTP/1.1"
    together = threading.Barrier(TOGETHER)

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if "together" in urlsplit(self.path).query:
            self.together.wait(timeout=30)
        payload = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = answer


class ProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        cls.upstream.daemon_threads = True
        threading.Thread(target=cls.upstream.serve_forever, daemon=True).start()
        upstream_url = f"http://127.0.0.1:{cls.upstream.server_address[1]}"
        cls.proxy = subprocess.Popen(
            [sys.executable, PROXY, "--upstream", upstream_url, "--rate", "0", "--fixed-latency-ms", str(DELAY_MS),
             "--fail-body-containing", "group-2"],
            stdout=subprocess.PIPE, text=True)
        line = cls.proxy.stdout.readline()
        assert line.startswith("http://"), line
        cls.address = urlsplit(line.strip())

    @classmethod
    def tearDownClass(cls):
        cls.proxy.kill()
        cls.proxy.wait()
        cls.proxy.stdout.close()
        cls.upstream.shutdown()
        cls.upstream.server_close()

    def call(self, method, path, headers=None, body=None):
        """(status, seconds) of one request through the proxy, on its own connection."""
        connection = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=30)
        start = time.monotonic()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        seconds = time.monotonic() - start
        connection.close()
        return response.status, seconds

    def counts(self, reset=False):
        connection = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=30)
        connection.request("POST" if reset else "GET", "/__faults/reset" if reset else "/__faults")
        counts = json.loads(connection.getresponse().read())
        connection.close()
        return counts

    def setUp(self):
        self.counts(reset=True)

    def test_a_request_naming_the_chosen_text_fails_and_the_same_call_for_another_works(self):
        logs = {"X-Amz-Target": "Logs_20140328.PutRetentionPolicy", "Content-Type": "application/x-amz-json-1.1",
                "Authorization": SIGNED_S3.replace("/s3/", "/logs/")}
        failed, _ = self.call("POST", "/", logs, b'{"logGroupName": "/aws/sagemaker/group-2", "retentionInDays": 30}')
        answered, _ = self.call("POST", "/", logs, b'{"logGroupName": "/aws/sagemaker/group-3", "retentionInDays": 30}')
        self.assertEqual((failed, answered), (500, 200))
        counts = self.counts()
        self.assertEqual(counts["failed-body"], 1, counts)
        self.assertEqual(counts["operations"], {"logs:PutRetentionPolicy": 2}, counts)

    def test_concurrent_requests_each_wait_the_fixed_delay_and_are_all_in_flight(self):
        n = TOGETHER
        results = [None] * n

        def one(i):
            results[i] = self.call("GET", f"/bucket-{i}?encryption&together", {"Authorization": SIGNED_S3})

        start = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
        counts = self.counts()
        for status, seconds in results:
            self.assertEqual(status, 200)
            self.assertGreaterEqual(seconds, DELAY_MS / 1000)
        in_flight = counts["in-flight"]
        self.assertEqual(in_flight["now"], 0, counts)
        self.assertEqual(in_flight["max"], n, counts)
        # Each request was in flight at the proxy for at least the delay, and for no longer than
        # its client waited for it; the proxy was busy no longer than the clients were.
        self.assertGreaterEqual(in_flight["request-seconds"], n * DELAY_MS / 1000, counts)
        self.assertLessEqual(in_flight["request-seconds"], sum(seconds for _, seconds in results), counts)
        self.assertLessEqual(in_flight["busy-seconds"], elapsed, counts)
        self.assertLessEqual(in_flight["busy-mean"], n, counts)
        self.assertAlmostEqual(in_flight["mean"], in_flight["request-seconds"] / in_flight["seconds"], places=6)
        self.assertEqual(counts["operations"], {"s3:GetBucketEncryption": n}, counts)
        self.assertEqual(counts["requests"], n, counts)

    def test_serial_requests_are_one_in_flight_and_the_mean_is_time_weighted(self):
        took = []
        for _ in range(3):
            status, seconds = self.call("POST", "/", {"X-Amz-Target": "SageMaker.DescribeEndpoint",
                                                      "Content-Type": "application/x-amz-json-1.1"}, b"{}")
            self.assertEqual(status, 200)
            self.assertGreaterEqual(seconds, DELAY_MS / 1000)
            took.append(seconds)
        idle = DELAY_MS / 1000
        time.sleep(idle)  # idle time in the window lowers the mean, not busy-mean
        in_flight = self.counts()["in-flight"]
        self.assertEqual(in_flight["max"], 1, in_flight)
        self.assertGreaterEqual(in_flight["request-seconds"], 3 * DELAY_MS / 1000, in_flight)
        self.assertLessEqual(in_flight["request-seconds"], sum(took), in_flight)
        self.assertAlmostEqual(in_flight["busy-seconds"], in_flight["request-seconds"], places=6)
        self.assertAlmostEqual(in_flight["busy-mean"], 1.0, places=6)
        # One in flight at most, and none for at least the idle time: the mean is below
        # (window - idle) / window.
        self.assertLessEqual(in_flight["request-seconds"], in_flight["seconds"] - idle, in_flight)
        self.assertAlmostEqual(in_flight["mean"], in_flight["request-seconds"] / in_flight["seconds"], places=6)

    def test_reset_answers_the_counts_then_starts_anew(self):
        self.call("GET", "/bucket?publicAccessBlock", {"Authorization": SIGNED_S3})
        before = self.counts(reset=True)
        self.assertEqual(before["operations"], {"s3:GetPublicAccessBlock": 1})
        self.assertEqual(before["in-flight"]["max"], 1)
        after = self.counts()
        self.assertEqual(after["operations"], {})
        self.assertEqual(after["requests"], 0)
        self.assertEqual(after["in-flight"]["max"], 0)
        self.assertEqual(after["in-flight"]["request-seconds"], 0)
        status, _ = self.call("GET", "/__faults/reset")
        self.assertEqual(status, 405)  # only POST resets

    def test_rate_zero_injects_no_fault(self):
        statuses = [self.call("PUT", f"/bucket/key-{i}", {"Authorization": SIGNED_S3}, b"x")[0] for i in range(5)]
        self.assertEqual(statuses, [200] * 5)
        counts = self.counts()
        self.assertEqual({kind: counts[kind] for kind in KINDS}, dict.fromkeys(KINDS, 0), counts)
        self.assertEqual(counts["operations"], {"s3:PutObject": 5}, counts)

    def test_internal_paths_are_not_counted(self):
        self.counts()
        counts = self.counts()
        self.assertEqual(counts["in-flight"]["max"], 0, counts)
        self.assertEqual(counts["in-flight"]["request-seconds"], 0, counts)
        self.assertEqual(counts["operations"], {}, counts)


class OperationNames(unittest.TestCase):
    def test_names(self):
        def scope(service):
            return {"Authorization": f"AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/{service}/aws4_request, "
                                     "SignedHeaders=host, Signature=0"}

        form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        cases = [
            (("POST", "/", {"X-Amz-Target": "SageMaker.ListEndpoints", **scope("sagemaker")}, b"{}"),
             "sagemaker:ListEndpoints"),
            (("POST", "/", {"X-Amz-Target": "AnyScaleFrontendService.DescribeScalableTargets",
                            **scope("application-autoscaling")}, b"{}"),
             "application-autoscaling:DescribeScalableTargets"),
            (("POST", "/", {**form, **scope("sts")}, b"Action=AssumeRole&Version=2011-06-15"), "sts:AssumeRole"),
            (("POST", "/service/GraniteServiceVersion20100801/operation/GetMetricData", scope("monitoring"), b""),
             "monitoring:GetMetricData"),
            (("GET", "/", scope("s3"), b""), "s3:ListBuckets"),
            (("HEAD", "/b", scope("s3"), b""), "s3:HeadBucket"),
            (("GET", "/b?list-type=2&prefix=p", scope("s3"), b""), "s3:ListObjectsV2"),
            (("GET", "/b?encryption", scope("s3"), b""), "s3:GetBucketEncryption"),
            (("PUT", "/b?encryption", scope("s3"), b""), "s3:PutBucketEncryption"),
            (("GET", "/b?policy", scope("s3"), b""), "s3:GetBucketPolicy"),
            (("PUT", "/b?publicAccessBlock", scope("s3"), b""), "s3:PutPublicAccessBlock"),
            (("GET", "/b?tagging", scope("s3"), b""), "s3:GetBucketTagging"),
            (("PUT", "/b/some/key.json", scope("s3"), b""), "s3:PutObject"),
            (("PUT", "/b/k?x-id=PutObject", scope("s3"), b""), "s3:PutObject"),
            (("GET", "/b/k?tagging", scope("s3"), b""), "s3:GetObjectTagging"),
            (("PUT", "/b/k", {**scope("s3"), "x-amz-copy-source": "/a/k"}, b""), "s3:CopyObject"),
            (("POST", "/b?delete", scope("s3"), b""), "s3:DeleteObjects"),
            (("GET", "/k", {**scope("s3"), "Host": "bucket.s3.amazonaws.com"}, b""), "s3:GetObject"),
            (("POST", "/findings/import", scope("securityhub"), b"{}"), "securityhub:POST /findings"),
        ]
        for args, name in cases:
            with self.subTest(name=name):
                self.assertEqual(operation_of(*args), name)


if __name__ == "__main__":
    unittest.main()
