#!/usr/bin/env python3
"""Validates OCSF Compliance Finding events (class 2003), one JSON object per line, against the
OCSF schema of the version each event declares (`metadata.version`), offline: the schema ships
with the `ocsf-json-schema` package. The `cloud` profile is applied when an event lists it.

    target/debug/encryption-enforcer --event events/scheduled.json --dry-run --format ocsf \\
        | .venv/bin/python scripts/ocsf_validate.py

Exit status 0 when every line is a valid event (and there is at least one), 1 otherwise; each
problem is printed as `line N: path: message`. Lines that are not OCSF events (no `class_uid`)
are errors too: the input is meant to be `--format ocsf` output only.
"""

import json
import sys
from functools import lru_cache

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

COMPLIANCE_FINDING = 2003


@lru_cache(maxsize=None)
def validator(version: str, profiles: tuple) -> Draft202012Validator:
    ocsf = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
    name = ocsf.lookup_class_name_from_uid(class_uid=COMPLIANCE_FINDING)
    return Draft202012Validator(ocsf.get_class_schema(class_name=name, profiles=list(profiles)))


def problems(event) -> list:
    """What is wrong with one event; empty when it is a valid Compliance Finding."""
    if not isinstance(event, dict):
        return ["<root>: not a JSON object"]
    if event.get("class_uid") != COMPLIANCE_FINDING:
        return [f"class_uid: {event.get('class_uid')!r} is not {COMPLIANCE_FINDING} (Compliance Finding)"]
    metadata = event.get("metadata") or {}
    version = metadata.get("version")
    try:
        check = validator(str(version), tuple(sorted(metadata.get("profiles") or [])))
    except Exception as err:  # an unknown version or profile names the event's own mistake
        return [f"metadata: no OCSF schema for version {version!r}: {err}"]
    found = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in check.iter_errors(event)
    ]
    # The schema lists type_uid's values but does not tie it to the activity.
    if event.get("type_uid") != COMPLIANCE_FINDING * 100 + event.get("activity_id", -1):
        found.append("type_uid: is not class_uid * 100 + activity_id")
    return found


def validate_lines(lines) -> list:
    """`line N: problem` for every problem in the given lines; blank lines are skipped."""
    found, events = [], 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        events += 1
        try:
            event = json.loads(line)
        except json.JSONDecodeError as err:
            found.append(f"line {number}: not JSON: {err}")
            continue
        found.extend(f"line {number}: {problem}" for problem in problems(event))
    if events == 0:
        found.append("no events: expected one OCSF JSON object per line")
    return found


def main() -> int:
    found = validate_lines(sys.stdin)
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
