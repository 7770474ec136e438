"""S3 PutObject refuses a body that does not match the checksum the client sent with it.

moto 5.2.5 takes a client's `x-amz-checksum-<algorithm>` (a header, or the trailer of an
aws-chunked body) and echoes it back without checking it against the body. S3 computes the
checksum of what it received and, when the two differ, stores nothing and answers 400
`BadDigest` ("The SHA256 you specified did not match the calculated checksum."); a value that
is not the base64 of a digest of the right length is 400 `InvalidRequest`. Writers that send
the SHA-256 of what they mean to store rely on that refusal, so PutObject checks here, before
moto stores anything.

The SDKs send the checksum in one of two ways, and both are checked:
- a header `x-amz-checksum-<algorithm>` (with `x-amz-sdk-checksum-algorithm`), for an
  in-memory body or a checksum the caller set itself (the Rust SDK then sends no aws-chunked
  body);
- a trailer after the last chunk of an aws-chunked body (named by `x-amz-trailer`), when the
  SDK computes the checksum of a streaming body itself, signed chunks or not.

The checksum is computed over the body moto stores, i.e. after moto has decoded the
aws-chunked framing. Algorithms are checked where moto's own `compute_checksum` computes them
correctly: SHA256, SHA1 and CRC32 always; CRC32C only when the `crc32c` package is installed and
CRC64NVME only with awscrt (without them moto computes CRC32 instead, so they pass unchecked).
A put that sends no checksum, or a right one, goes on to moto unchanged.
"""

import base64
import binascii
import importlib.util

from moto.core.compat import HAS_CRT
from moto.s3.exceptions import S3ClientError
from moto.s3.responses import S3Response
from moto.s3.utils import compute_checksum

# algorithm -> length of its digest in bytes
_DIGEST_SIZES = {"SHA256": 32, "SHA1": 20, "CRC32": 4}
if importlib.util.find_spec("crc32c") is not None:
    _DIGEST_SIZES["CRC32C"] = 4
if HAS_CRT:
    _DIGEST_SIZES["CRC64NVME"] = 8


class BadDigest(S3ClientError):
    code = "BadDigest"

    def __init__(self, algorithm: str) -> None:
        super().__init__(f"The {algorithm} you specified did not match the calculated checksum.")


class InvalidChecksumValue(S3ClientError):
    code = "InvalidRequest"

    def __init__(self, name: str, where: str) -> None:
        super().__init__(f"Value for {name} {where} is invalid.")


def _chunked_trailers(raw: bytes) -> dict[str, str]:
    """The trailers after the last chunk of an aws-chunked body (`size[;ext]\\r\\n data\\r\\n`
    ..., `0[;ext]\\r\\n`, then `name:value\\r\\n` lines and an empty line); {} if it is not one."""
    pos = 0
    try:
        while True:
            end = raw.index(b"\r\n", pos)
            size = int(raw[pos:end].split(b";", 1)[0].strip(), 16)
            pos = end + 2
            if size == 0:
                break
            pos += size + 2
    except ValueError:
        return {}
    trailers = {}
    for line in raw[pos:].split(b"\n"):
        name, sep, value = line.strip().partition(b":")
        if sep:
            trailers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return trailers


def _supplied_checksums(response: S3Response) -> list[tuple[str, str, str]]:
    """(algorithm, value, "header" or "trailing header") for each checksum the request sent."""
    supplied = []
    for algorithm in _DIGEST_SIZES:
        value = response.headers.get(f"x-amz-checksum-{algorithm.lower()}")
        if value:
            supplied.append((algorithm, value, "header"))
    content_sha256 = response.headers.get("x-amz-content-sha256") or ""
    chunked_with_trailer = response.headers.get("x-amz-trailer") or (
        content_sha256.startswith("STREAMING-") and content_sha256.endswith("-TRAILER")
    )
    if chunked_with_trailer:
        raw = response.raw_body if isinstance(response.raw_body, bytes) else b""
        for name, value in _chunked_trailers(raw).items():
            algorithm = name.removeprefix("x-amz-checksum-").upper()
            if name.startswith("x-amz-checksum-") and algorithm in _DIGEST_SIZES:
                supplied.append((algorithm, value, "trailing header"))
    return supplied


def verify(response: S3Response) -> None:
    """Raise what S3 answers if a checksum the request sent does not fit the body to be stored."""
    supplied = _supplied_checksums(response)
    if not supplied:
        return
    body = response.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    for algorithm, value, where in supplied:
        try:
            digest = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != _DIGEST_SIZES[algorithm]:
            raise InvalidChecksumValue(f"x-amz-checksum-{algorithm.lower()}", where)
        if compute_checksum(body, algorithm=algorithm, encode_base64=False) != digest:
            raise BadDigest(algorithm)


def install() -> None:
    original = S3Response.put_object

    def put_object(self):  # type: ignore[no-untyped-def]
        verify(self)
        return original(self)

    S3Response.put_object = put_object
