"""S3 conditional writes (If-None-Match / If-Match on PutObject) made atomic.

moto checks the condition and then stores the object as two steps, and its server answers
requests on several threads, so two writers racing to create the same key can both win. Real
S3 lets exactly one win (the other gets 412 PreconditionFailed or 409
ConditionalRequestConflict). Leases and snapshots rely on that, so the check and the store run
under one lock here.
"""

import threading

from moto.s3.responses import S3Response

_lock = threading.Lock()


def install() -> None:
    original = S3Response.put_object

    def put_object(self):  # type: ignore[no-untyped-def]
        if self.headers.get("If-None-Match") or self.headers.get("If-Match"):
            with _lock:
                return original(self)
        return original(self)

    S3Response.put_object = put_object
