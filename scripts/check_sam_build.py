#!/usr/bin/env python3
"""Checks what `sam build` left in .aws-sam/build: for every function of template.yaml, a
`bootstrap` that is an executable ELF file for the given architecture and, when that is this
machine's, that runs as the function its SAGEKEEPER_FUNCTION names (every function's CodeUri is
the one multi-call binary, bootstrap/).

    .venv/bin/python scripts/check_sam_build.py x86_64|arm64 [BUILD_DIR]
"""

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
# ELF e_machine values (offset 18, little-endian).
MACHINES = {"x86_64": 0x3E, "arm64": 0xB7}
HOST = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())


def functions(template: Path) -> dict:
    """Logical id -> the function it runs (its SAGEKEEPER_FUNCTION; None if it sets none)."""
    resources = cfn_yaml.load(str(template))["Resources"]
    return {
        logical_id: resource["Properties"]
        .get("Environment", {})
        .get("Variables", {})
        .get("SAGEKEEPER_FUNCTION")
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def expected_name(logical_id: str) -> str:
    """EndpointSchedulerFunction -> endpoint-scheduler: each function runs its own code (with
    its own role), never another's."""
    words = re.findall(r"[A-Z][a-z0-9]*", logical_id.removesuffix("Function"))
    return "-".join(word.lower() for word in words)


def problems(build_dir: Path, arch: str, wanted: dict) -> list:
    found = []
    for logical_id, name in sorted(wanted.items()):
        if name != expected_name(logical_id):
            found.append(
                f"{logical_id}: SAGEKEEPER_FUNCTION is {name!r}, not {expected_name(logical_id)!r}"
            )
            continue
        bootstrap = build_dir / logical_id / "bootstrap"
        if not bootstrap.is_file():
            found.append(f"{logical_id}: no {bootstrap}")
            continue
        if not os.access(bootstrap, os.X_OK):
            found.append(f"{logical_id}: bootstrap is not executable")
            continue
        header = bootstrap.read_bytes()[:20]
        if header[:4] != b"\x7fELF":
            found.append(f"{logical_id}: bootstrap is not an ELF executable")
            continue
        machine = int.from_bytes(header[18:20], "little")
        if machine != MACHINES[arch]:
            found.append(f"{logical_id}: bootstrap is for ELF machine {machine:#x}, not {arch}")
        elif arch == HOST:
            env = {**os.environ, "SAGEKEEPER_FUNCTION": name}
            out = subprocess.run(
                [str(bootstrap), "--help"], capture_output=True, text=True, timeout=30, env=env
            )
            if out.returncode != 0 or not out.stdout.startswith(f"{name} "):
                found.append(f"{logical_id}: bootstrap --help does not name {name}: {out.stdout[:80]!r}")
    return found


def main() -> int:
    arch = sys.argv[1] if len(sys.argv) > 1 else "x86_64"
    build_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / ".aws-sam" / "build"
    if arch not in MACHINES:
        print(f"architecture {arch!r} is not one of {sorted(MACHINES)}")
        return 2
    wanted = functions(ROOT / "template.yaml")
    found = problems(build_dir, arch, wanted)
    for problem in found:
        print(problem)
    if not found:
        for logical_id, name in sorted(wanted.items()):
            size = (build_dir / logical_id / "bootstrap").stat().st_size / 2**20
            print(f"{logical_id}: bootstrap ({name}, {arch}, {size:.1f} MiB)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
