#!/usr/bin/env python3
"""The templates deploy, checked without AWS (issue #15, item 2).

For every parameter combination that changes a stack's shape (COMBOS), template.yaml is
transformed by the SAM translator (the library `sam validate` uses, offline: a fake region,
account and managed-policy map), its parameter values are checked against their constraints,
it is linted by cfn-lint with those values (in two worker processes) and created by
CloudFormation CreateStack in moto (our emulator, in this process, with our extensions);
member.yaml (plain CloudFormation) is checked the same way without the transform. The stack
must reach CREATE_COMPLETE with exactly the resources and outputs CloudFormation would
create for those values, none of its outputs, function settings or IAM policies holding an
unresolved intrinsic, except the types moto's CloudFormation cannot create (UNSUPPORTED):
those are left out of the created stack and checked by cfn-lint and cfn-guard only.

Run: .venv/bin/python scripts/template_stack.py   (one line per combination)
Its test, scripts/test_template_stack.py (run by scripts/lint-template.sh), also checks that
UNSUPPORTED is exactly what moto cannot create, that every Condition takes both values over
COMBOS, cfn-guard on the transformed template, and controls that must fail.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
import socket
import sys
import urllib.request
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "emulator"))

# The created stacks' region, account (moto's default) and name.
REGION, ACCOUNT, STACK = "us-east-1", "123456789012", "sagekeeper"
CODE_BUCKET, CODE_KEY = "sagekeeper-template-check-code", "function.zip"

# Resource types of our templates that moto 5.2.5's CloudFormation cannot create, and why.
# moto skips such a resource with a warning and still reports CREATE_COMPLETE, so they are
# left out of the stack we create (a resource that refers to one of them fails the check)
# and are checked by cfn-lint (per combination) and cfn-guard (on the transformed template
# here, and on template.yaml and member.yaml in lint-template.sh) only.
# test_template_stack.py fails if moto starts creating a type listed here, or if a template
# gains a type moto cannot create that is not listed.
UNSUPPORTED = {
    "AWS::CloudWatch::Alarm": "no CloudFormation model in moto (it has PutMetricAlarm)",
    "AWS::Events::EventBusPolicy": "no CloudFormation model in moto (it has events PutPermission)",
    "AWS::IAM::RolePolicy": "no CloudFormation model in moto (it has PutRolePolicy)",
    "AWS::Lambda::EventInvokeConfig": (
        "no CloudFormation model in moto (it has PutFunctionEventInvokeConfig)"
    ),
    "AWS::S3::BucketPolicy": "no CloudFormation model in moto (it has PutBucketPolicy)",
    "AWS::SNS::Subscription": "no CloudFormation model in moto (it has Subscribe)",
    "AWS::SNS::TopicPolicy": "no CloudFormation model in moto (it has SetTopicAttributes)",
    "AWS::SQS::QueuePolicy": "no CloudFormation model in moto (it has SetQueueAttributes)",
}

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0e2b1f2c-5d7a-4c1e-9f3b-2a6d8c4e1b7a"
EMAIL = "ml-platform@example.com"
ORGANISATION = {
    "TargetAccounts": "organization",
    "TargetOrganizationalUnits": "ou-ab12-cdef3456",
    "TargetRegions": "eu-west-1,us-east-1",
    "OrganizationId": "o-a1b2c3d4e5",
}
ACCOUNT_LIST = {"TargetAccounts": "111111111111,222222222222"}
DRIFT_ALARM = {"DriftEndpointName": "churn", "DriftMonitoringScheduleName": "churn-drift"}
RETRAINING = {
    "RetrainRoleArn": f"arn:aws:iam::{ACCOUNT}:role/retrain",
    "ModelMonitorReportsBucket": "model-monitor-reports",
}

# Parameter combinations that change a stack's shape. template.yaml: organisation off/on
# x KmsKeyArn empty/given x NotificationEmail empty/given in full (the first eight), the
# other Conditions each true in some and false in others (the test checks that every
# Condition of each template takes both values).
COMBOS: dict[str, dict[str, dict[str, str]]] = {
    "template.yaml": {
        "single-account": {},
        "single-account+key": {"KmsKeyArn": KEY_ARN},
        "single-account+email+drift-alarm": {"NotificationEmail": EMAIL, **DRIFT_ALARM},
        "single-account+key+email+retraining+delete-idle": {
            "KmsKeyArn": KEY_ARN,
            "NotificationEmail": EMAIL,
            **RETRAINING,
            "DeleteIdleEndpoints": "true",
        },
        # A drift endpoint without its schedule makes no alarm.
        "organisation+half-drift-alarm": {**ORGANISATION, "DriftEndpointName": "churn"},
        "organisation+key+email+drift-alarm+delete-idle": {
            **ORGANISATION,
            "KmsKeyArn": KEY_ARN,
            "NotificationEmail": EMAIL,
            **DRIFT_ALARM,
            "DeleteIdleEndpoints": "true",
        },
        "account-list+email+retraining+security-hub": {
            **ACCOUNT_LIST,
            "NotificationEmail": EMAIL,
            **RETRAINING,
            "SecurityHubExport": "true",
        },
        "account-list+key+member-events": {
            **ACCOUNT_LIST,
            "KmsKeyArn": KEY_ARN,
            "OrganizationId": "o-a1b2c3d4e5",
        },
        "other-regions-only": {"TargetRegions": "eu-west-1"},
    },
    "member.yaml": {
        "member-primary-region": {
            "HubAccountId": "210987654321",
            "HubRegion": "eu-west-1",
            "HubStackName": STACK,
            "PrimaryRegion": REGION,
        },
        "member-primary-region+external-id+retraining": {
            "HubAccountId": "210987654321",
            "HubRegion": "eu-west-1",
            "HubStackName": STACK,
            "PrimaryRegion": REGION,
            "ExternalId": "a-shared-secret",
            **RETRAINING,
            "SecurityHubExport": "true",
        },
        # The role is global: another region of the account only forwards events.
        "member-other-region": {
            "HubAccountId": "210987654321",
            "HubRegion": "eu-west-1",
            "HubStackName": STACK,
            "PrimaryRegion": "eu-west-1",
            **RETRAINING,
        },
        # The hub's own account: the role, no forwarding (its events reach its bus).
        "member-in-hub-account": {
            "HubAccountId": ACCOUNT,
            "HubRegion": REGION,
            "HubStackName": STACK,
            "PrimaryRegion": REGION,
        },
    },
}


class CheckError(Exception):
    """A template or combination that would not deploy (the message says where and why)."""


# --------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------


def load(name: str) -> dict:
    """A template as the SAM translator and CloudFormation read it (short-form tags too)."""
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse((ROOT / name).read_text())


def is_sam(template: dict) -> bool:
    transform = template.get("Transform", [])
    transforms = transform if isinstance(transform, list) else [transform]
    return "AWS::Serverless-2016-10-31" in transforms


def transform(sam_template: dict, parameters: dict[str, str]) -> dict:
    """template.yaml as CloudFormation gets it after the SAM transform, as `sam validate`
    makes it offline: local CodeUris point at an S3 object (the code zip uploaded before
    CreateStack) and no call reaches AWS (fake region and credentials, no managed-policy
    names to look up: the template names none)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(sam_template)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
    session = boto3.Session(
        region_name=REGION, aws_access_key_id="offline", aws_secret_access_key="offline"
    )
    translator = Translator(
        managed_policy_map=None, sam_parser=Parser(), plugins=[], boto_session=session
    )
    try:
        return translator.translate(
            sam_template=template,
            parameter_values=dict(parameters),
            get_managed_policy_map=lambda: {},
        )
    except InvalidDocumentException as e:
        raise CheckError(
            "SAM transform: " + "; ".join(str(cause) for cause in e.causes)
        ) from None
    finally:
        translator.metrics.publish()  # to nowhere; unpublished metrics print a warning


def check_parameters(template: dict, parameters: dict[str, str]) -> dict[str, str]:
    """The stack's parameter values (given or default), refused as CloudFormation's
    CreateStack refuses them (moto does not check the constraints)."""
    declared = template.get("Parameters", {})
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise CheckError(f"parameters not in the template: {unknown}")
    values, problems = {}, []
    for name, spec in declared.items():
        if name in parameters:
            value = parameters[name]
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            problems.append(f"{name}: no value and no default")
            continue
        values[name] = value
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            problems.append(f"{name}={value!r}: not one of {spec['AllowedValues']}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            problems.append(f"{name}={value!r}: does not match {spec['AllowedPattern']}")
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            problems.append(f"{name}={value!r}: shorter than {spec['MinLength']}")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            problems.append(f"{name}={value!r}: longer than {spec['MaxLength']}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{name}={value!r}: not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"{name}={value!r}: below {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{name}={value!r}: above {spec['MaxValue']}")
    if problems:
        raise CheckError("parameter values CloudFormation refuses: " + "; ".join(problems))
    return values


def conditions(template: dict, values: dict[str, str]) -> dict[str, bool]:
    """Each Condition's value for these parameter values, in this stack's region and account."""
    pseudo = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::StackName": STACK,
    }
    declared = template.get("Conditions", {})
    done: dict[str, bool] = {}

    def value(node):
        if isinstance(node, dict) and len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                if arg in pseudo:
                    return pseudo[arg]
                if arg not in values:
                    raise CheckError(f"a Condition refers to {arg}, which is no parameter")
                return values[arg]
            if fn == "Condition":
                return condition(arg)
            if fn == "Fn::Equals":
                return str(value(arg[0])) == str(value(arg[1]))
            if fn == "Fn::Not":
                return not value(arg[0])
            if fn == "Fn::And":
                return all(value(a) for a in arg)
            if fn == "Fn::Or":
                return any(value(a) for a in arg)
            raise CheckError(f"a Condition uses {fn}, which this check does not evaluate")
        return node

    def condition(name):
        if name not in declared:
            raise CheckError(f"Condition {name} is not declared")
        if name not in done:
            done[name] = bool(value(declared[name]))
        return done[name]

    for name in declared:
        condition(name)
    return done


def expected_resources(template: dict, holds: dict[str, bool]) -> dict[str, str]:
    """Logical id -> type of what CloudFormation creates for these Condition values."""
    return {
        logical_id: resource["Type"]
        for logical_id, resource in template.get("Resources", {}).items()
        if holds.get(resource.get("Condition"), True)
    }


def references(node) -> set[str]:
    """Logical ids (or parameters) a template fragment refers to by Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, arg in node.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    found.add(name.split(".")[0])
            found |= references(arg)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def creatable(template: dict) -> tuple[dict, dict[str, str]]:
    """The template without the resources moto cannot create (logical id -> type of those
    left out). A kept resource or output that refers to a left-out one is an error: the stack
    would not be the one CloudFormation creates. DependsOn on one is only ordering: dropped."""
    kept = copy.deepcopy(template)
    left_out = {
        logical_id: resource["Type"]
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] in UNSUPPORTED
    }
    for logical_id in left_out:
        del kept["Resources"][logical_id]
    problems = []
    for section in ("Resources", "Outputs"):
        for logical_id, node in kept.get(section, {}).items():
            depends = node.get("DependsOn")
            if depends is not None:
                depends = [depends] if isinstance(depends, str) else depends
                node["DependsOn"] = [d for d in depends if d not in left_out]
                if not node["DependsOn"]:
                    del node["DependsOn"]
            for target in sorted(references(node) & set(left_out)):
                problems.append(
                    f"{section} {logical_id} refers to {target} ({left_out[target]}), "
                    "which moto cannot create"
                )
    if problems:
        raise CheckError("; ".join(problems))
    return kept, left_out


def condition_coverage_problems(template: dict, combos: dict[str, dict[str, str]]) -> list[str]:
    """Conditions that no combination turns on, or none turns off: a shape left unchecked
    (a new Condition-driving parameter needs a combination here)."""
    seen: dict[str, set[bool]] = {name: set() for name in template.get("Conditions", {})}
    for parameters in combos.values():
        for name, holds in conditions(template, check_parameters(template, parameters)).items():
            seen[name].add(holds)
    return [
        f"Condition {name} is {next(iter(values))} in every combination: "
        f"add one to COMBOS where it is {not next(iter(values))}"
        for name, values in seen.items()
        if len(values) != 2
    ]


def unsupported_list_problems(types_used: set[str], moto_types: set[str]) -> list[str]:
    """How UNSUPPORTED differs from the types of our templates that moto cannot create."""
    problems = []
    for resource_type in sorted(set(UNSUPPORTED) & moto_types):
        problems.append(
            f"moto now creates {resource_type}: remove it from UNSUPPORTED so the stack "
            "check creates it"
        )
    for resource_type in sorted(set(UNSUPPORTED) - types_used):
        problems.append(f"no template has {resource_type} any more: remove it from UNSUPPORTED")
    for resource_type in sorted(types_used - moto_types - set(UNSUPPORTED)):
        problems.append(
            f"{resource_type} is in a template but moto cannot create it: add it to "
            "UNSUPPORTED with the reason (it is then checked by cfn-lint and cfn-guard only)"
        )
    return problems


# --------------------------------------------------------------------------------------
# cfn-lint
# --------------------------------------------------------------------------------------


def lint(template: dict, values: dict[str, str]) -> list[str]:
    """cfn-lint's errors and warnings for this (CloudFormation) template with these
    parameter values (scripts/lint-template.sh fails on warnings too)."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    text = json.dumps(template, indent=1)
    lines = text.splitlines()
    matches = cfn_lint(text, config=ManualArgs(regions=[REGION], parameters=[values]))

    def where(line_number: int) -> str:
        """The (transformed) template's top-level entry around a line, and the line."""
        index = max(0, min(line_number, len(lines)) - 1)
        for above in range(index, -1, -1):
            entry = re.match(r'^ "(\w+)": |^  "([^"]+)": ', lines[above])
            if entry:
                return f"{entry.group(1) or entry.group(2)}: {lines[index].strip()}"
        return lines[index].strip()

    return [
        f"{m.rule.id} {m.message} at {where(m.linenumber)}"
        for m in matches
        if m.rule.id[0] in "EW"
    ]


def guard(template: dict) -> list[str]:
    """cfn-guard's failures of our rules (guard/rules.guard) on a template: run on the
    transformed template, they also see what SAM generates (roles, their policies, the
    event invoke configs). Guard does not evaluate Conditions, so one run covers every
    combination."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json") as data:
        json.dump(template, data, indent=1)
        data.flush()
        result = subprocess.run(
            [
                str(ROOT / ".tools" / "bin" / "cfn-guard"),
                "validate",
                "--data",
                data.name,
                "--rules",
                str(ROOT / "guard" / "rules.guard"),
                "--show-summary",
                "fail",
            ],
            capture_output=True,
            text=True,
        )
    if result.returncode == 0:
        return []
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


# --------------------------------------------------------------------------------------
# moto
# --------------------------------------------------------------------------------------


def moto_supported_types() -> set[str]:
    """The resource types moto's CloudFormation creates (its models, as it looks them up)."""
    from moto.cloudformation.parsing import get_model_map

    return set(get_model_map())


class Emulator:
    """moto in this process with our extensions (importing server.py installs them), on a
    free 127.0.0.1 port, as scripts/emulator/test_extensions.py starts it."""

    def __init__(self):
        import server  # noqa: F401  (installs every extension, as scripts/emulator.sh does)
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()

    def stop(self):
        self._server.stop()

    def client(self, service):
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )

    def reset(self):
        request = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(request).read()

    def create_stack(
        self, name: str, template: dict, values: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Creates the stack in a fresh emulator (with the functions' code zip uploaded
        first) and returns its resources (logical id -> type) and outputs (key -> value); a
        stack that does not reach CREATE_COMPLETE, a resource moto skipped, or a value left
        unresolved is an error."""
        self.reset()
        s3 = self.client("s3")
        s3.create_bucket(Bucket=CODE_BUCKET)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n")
        s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=code.getvalue())

        cloudformation = self.client("cloudformation")
        with warnings.catch_warnings(record=True) as skipped:
            warnings.simplefilter("always")
            try:
                cloudformation.create_stack(
                    StackName=name,
                    TemplateBody=json.dumps(template),
                    Parameters=[
                        {"ParameterKey": k, "ParameterValue": v} for k, v in values.items()
                    ],
                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                )
            except Exception as e:  # moto creates in the call and answers its error
                raise CheckError(f"CreateStack failed: {e}") from None
        not_created = [str(w.message) for w in skipped if "not supported by moto" in str(w.message)]
        if not_created:
            raise CheckError("moto skipped resources: " + "; ".join(not_created))
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            failed = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
                for e in cloudformation.describe_stack_events(StackName=name)["StackEvents"]
                if e["ResourceStatus"].endswith("FAILED")
            ]
            raise CheckError(f"stack {stack['StackStatus']}: {failed}")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        unresolved = self.unresolved(outputs)
        if unresolved:
            raise CheckError("values CloudFormation left unresolved: " + "; ".join(unresolved))
        paginator = cloudformation.get_paginator("list_stack_resources")
        # moto lists a resource it did not create (its Condition false) as an empty row.
        resources = {
            r["LogicalResourceId"]: r["ResourceType"]
            for page in paginator.paginate(StackName=name)
            for r in page["StackResourceSummaries"]
            if r["LogicalResourceId"]
        }
        return resources, outputs

    def unresolved(self, outputs: dict[str, str] | None = None) -> list[str]:
        """Outputs, function settings and IAM policies of the created stack that still
        hold an intrinsic function or a ${...} (our templates use no IAM policy variables)."""
        found = []

        def look(what, value):
            text = json.dumps(value)
            if any(mark in text for mark in ('"Ref"', '"Fn::', "${")):
                found.append(f"{what}: {text[:300]}")

        for key, value in (outputs or {}).items():
            look(f"output {key}", value)
        lambda_ = self.client("lambda")
        for function in lambda_.list_functions()["Functions"]:
            look(f"function {function['FunctionName']} environment", function.get("Environment"))
        iam = self.client("iam")
        for role in iam.list_roles()["Roles"]:
            name = role["RoleName"]
            look(f"role {name} trust policy", role["AssumeRolePolicyDocument"])
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                look(f"role {name} policy {policy}", document)
        return found


# --------------------------------------------------------------------------------------
# One combination
# --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    created: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)


def prepare(source: dict, parameters: dict[str, str]) -> tuple[dict[str, str], dict]:
    """The parameter values (checked) and the template CloudFormation gets (transformed)."""
    values = check_parameters(source, parameters)
    template = transform(source, parameters) if is_sam(source) else copy.deepcopy(source)
    return values, template


def check(source: dict, parameters: dict[str, str], emulator: Emulator) -> Outcome:
    """Transforms (SAM), lints and creates one template with one parameter combination;
    raises CheckError saying why it would not deploy (at the first step that fails)."""
    values, template = prepare(source, parameters)
    return create(template, values, lint(template, values), emulator)


def check_all(
    source: dict, combos: dict[str, dict[str, str]], emulator: Emulator, workers: int = 2
) -> Iterator[tuple[str, Outcome | CheckError]]:
    """check() of every combination, (combination, outcome or error) in order, each yielded
    while its stack is the emulator's. The combinations lint side by side in worker
    processes (spawned: this process runs the emulator's threads) while stacks are created
    here: cfn-lint is most of the time."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        jobs = {}
        for combo, parameters in combos.items():
            try:
                values, template = prepare(source, parameters)
            except CheckError as e:
                jobs[combo] = e
                continue
            jobs[combo] = (values, template, pool.submit(lint, template, values))
        for combo, job in jobs.items():
            if isinstance(job, CheckError):
                yield combo, job
                continue
            values, template, linted = job
            try:
                outcome = create(template, values, linted.result(), emulator)
            except CheckError as e:
                yield combo, e
                continue
            yield combo, outcome


def create(template: dict, values: dict[str, str], problems: list[str], emulator) -> Outcome:
    """After cfn-lint found `problems` (none, or the check fails), creates the stack and
    compares it with what CloudFormation would create."""
    if problems:
        raise CheckError("cfn-lint: " + "\n  ".join(problems))
    holds = conditions(template, values)
    kept, left_out = creatable(template)
    created, outputs = emulator.create_stack(STACK, kept, values)
    expected = {k: t for k, t in expected_resources(template, holds).items() if k not in left_out}
    if created != expected:
        missing = sorted(set(expected) - set(created))
        extra = sorted(set(created) - set(expected))
        raise CheckError(
            f"created resources differ from what CloudFormation creates: missing {missing}, "
            f"unexpected {extra}"
        )
    expected_outputs = {
        key
        for key, output in template.get("Outputs", {}).items()
        if holds.get(output.get("Condition"), True)
    }
    if set(outputs) != expected_outputs:
        raise CheckError(
            f"outputs {sorted(outputs)} differ from what CloudFormation gives: "
            f"{sorted(expected_outputs)}"
        )
    return Outcome(
        created=created,
        outputs=outputs,
        left_out={k: t for k, t in expected_resources(template, holds).items() if k in left_out},
    )


def main() -> int:
    emulator = Emulator()
    failures = 0
    try:
        for template_name, combos in COMBOS.items():
            for combo, outcome in check_all(load(template_name), combos, emulator):
                if isinstance(outcome, CheckError):
                    failures += 1
                    print(f"FAIL {template_name} [{combo}]: {outcome}")
                    continue
                left = sorted(set(outcome.left_out.values()))
                print(
                    f"ok   {template_name} [{combo}]: CREATE_COMPLETE, "
                    f"{len(outcome.created)} resources; left out {len(outcome.left_out)} "
                    f"of types moto cannot create {left}"
                )
    finally:
        emulator.stop()
    print("types left out (moto's CloudFormation cannot create them; cfn-lint and cfn-guard only):")
    for resource_type, why in sorted(UNSUPPORTED.items()):
        print(f"  {resource_type}: {why}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
