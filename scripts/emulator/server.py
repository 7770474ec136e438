"""moto in server mode, with what sagekeeper's tests need that moto 5.2.5 does not do itself.

Started by scripts/emulator.sh with moto_server's own arguments (-H HOST -p PORT). Each
extension changes moto's own backend in this process, so the SDK still speaks the real
protocol to it. Extensions live in this folder, one module per concern.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import endpoint_deployment_config  # noqa: E402
import monitoring  # noqa: E402
import s3_bucket_reads  # noqa: E402
import s3_checksums  # noqa: E402
import s3_conditional_writes  # noqa: E402
import securityhub  # noqa: E402
import step_scaling_alarms  # noqa: E402
import studio  # noqa: E402
import system_tags  # noqa: E402

from moto import server  # noqa: E402

endpoint_deployment_config.install()
monitoring.install()
s3_conditional_writes.install()
s3_checksums.install()  # after s3_conditional_writes: checks before its lock is taken
securityhub.install()
step_scaling_alarms.install()
studio.install()
system_tags.install()
s3_bucket_reads.install()

if __name__ == "__main__":
    server.main(sys.argv[1:])
