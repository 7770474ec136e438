"""The templates deploy, checked without AWS: every shape-changing parameter combination of
template.yaml (after the SAM transform) and member.yaml lints clean and creates in moto's
CloudFormation (scripts/template_stack.py says how). Controls at the end break a template on
purpose and expect the check to say so.

Run (scripts/lint-template.sh does): .venv/bin/python -m unittest scripts/test_template_stack.py
"""

import copy
import fnmatch
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import template_stack as ts  # noqa: E402

emulator = None
sources = {}


def setUpModule():
    global emulator
    emulator = ts.Emulator()
    for name in ts.COMBOS:
        sources[name] = ts.load(name)


def tearDownModule():
    emulator.stop()


def types_in_templates():
    """Every resource type of every combination's template (transformed for SAM)."""
    types = set()
    for name, combos in ts.COMBOS.items():
        source = sources[name]
        for parameters in combos.values():
            template = ts.transform(source, parameters) if ts.is_sam(source) else source
            types |= {r["Type"] for r in template["Resources"].values()}
    return types


def member_trusted_principals(hub_account, hub_stack):
    """The ARN pattern of the hub roles member.yaml's role lets assume it."""
    statement = sources["member.yaml"]["Resources"]["MemberRole"]["Properties"][
        "AssumeRolePolicyDocument"
    ]["Statement"][0]
    pattern = statement["Condition"]["ArnLike"]["aws:PrincipalArn"]["Fn::Sub"]
    for name, value in {
        "AWS::Partition": "aws",
        "HubAccountId": hub_account,
        "HubStackName": hub_stack,
    }.items():
        pattern = pattern.replace("${" + name + "}", value)
    return pattern


class Combinations(unittest.TestCase):
    def check_all(self, name, then=None):
        """Checks every combination of a template (each a subtest); `then(parameters)`
        looks at each created stack before the next one replaces it."""
        outcomes = {}
        for combo, outcome in ts.check_all(sources[name], ts.COMBOS[name], emulator):
            with self.subTest(combo=combo):
                if isinstance(outcome, ts.CheckError):
                    self.fail(str(outcome))
                self.assertTrue(outcome.created, "no resource created")
                self.assertFalse(
                    set(outcome.created.values()) & set(ts.UNSUPPORTED),
                    "a type moto cannot create was created",
                )
                if then:
                    then(ts.COMBOS[name][combo])
                outcomes[combo] = outcome
        return outcomes

    def test_template_yaml_every_combination_lints_and_creates(self):
        outcomes = self.check_all("template.yaml", then=self.assert_functions_settings)
        # The shapes differ as the parameters say (a check of the check's own condition
        # evaluation against moto's): fan-out queues only with targets, the key only
        # without KmsKeyArn, the member-events bus policy (left out) only with an org id.
        self.assertIn(
            "LifecycleTaggerFanoutQueue", outcomes["organisation+half-drift-alarm"].created
        )
        self.assertNotIn("LifecycleTaggerFanoutQueue", outcomes["single-account"].created)
        self.assertIn("KmsKey", outcomes["single-account"].created)
        self.assertNotIn("KmsKey", outcomes["single-account+key"].created)
        self.assertIn(
            "MemberEventsBusPolicy", outcomes["account-list+key+member-events"].left_out
        )
        self.assertNotIn(
            "MemberEventsBusPolicy", outcomes["account-list+email+retraining+security-hub"].left_out
        )
        self.assertIn(
            "NotificationEmailSubscription", outcomes["single-account+email+drift-alarm"].left_out
        )
        self.assertIn(
            "DriftExampleAlarmInvokesRetrainer",
            outcomes["single-account+email+drift-alarm"].created,
        )
        self.assertNotIn(
            "DriftExampleAlarmInvokesRetrainer",
            outcomes["organisation+half-drift-alarm"].created,
        )
        self.assertIn("FanoutDeadLetterQueueUrl", outcomes["other-regions-only"].outputs)
        self.assertNotIn("FanoutDeadLetterQueueUrl", outcomes["single-account"].outputs)
        for outcome in outcomes.values():
            self.assertEqual(
                sum(t == "AWS::Lambda::Function" for t in outcome.created.values()), 4
            )

    def assert_functions_settings(self, parameters):
        """What the created functions were given, as CloudFormation resolved it: the key
        (given or the stack's own), the fan-out queue only with targets, and roles under
        the path member.yaml's role trusts."""
        cloudformation = emulator.client("cloudformation")
        physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cloudformation.list_stack_resources(StackName=ts.STACK)[
                "StackResourceSummaries"
            ]
        }
        key = parameters.get("KmsKeyArn") or physical["KmsKey"]
        has_targets = bool(parameters.get("TargetAccounts") or parameters.get("TargetRegions"))
        trusted = member_trusted_principals(hub_account=ts.ACCOUNT, hub_stack=ts.STACK)
        functions = emulator.client("lambda").list_functions()["Functions"]
        self.assertEqual(len(functions), 4)
        for function in functions:
            variables = function["Environment"]["Variables"]
            self.assertTrue(variables["KMS_KEY_ARN"].endswith(key), variables["KMS_KEY_ARN"])
            # The tagger gets the bucket only to snapshot endpoints it deletes.
            if "LifecycleTagger" in function["FunctionName"]:
                deletes = parameters.get("DeleteIdleEndpoints") == "true"
                expected = physical["StateBucket"] if deletes else ""
                self.assertEqual(variables["STATE_BUCKET"], expected)
            elif "STATE_BUCKET" in variables:
                self.assertEqual(variables["STATE_BUCKET"], physical["StateBucket"])
            if "FANOUT_QUEUE_URL" in variables:
                self.assertEqual(
                    variables["FANOUT_QUEUE_URL"].startswith("https://sqs."), has_targets
                )
            self.assertTrue(
                fnmatch.fnmatchcase(function["Role"], trusted),
                f"{function['Role']} is not one member.yaml's role trusts ({trusted})",
            )

    def test_member_yaml_every_combination_lints_and_creates(self):
        outcomes = self.check_all("member.yaml")
        self.assertIn("MemberRole", outcomes["member-primary-region"].created)
        self.assertNotIn("MemberRole", outcomes["member-other-region"].created)
        self.assertIn("ForwardToHub", outcomes["member-other-region"].created)
        self.assertNotIn("ForwardToHub", outcomes["member-in-hub-account"].created)
        self.assertEqual(
            set(outcomes["member-primary-region+external-id+retraining"].left_out),
            {"MemberRetrainPassRole", "MemberReadsMonitorReports"},
        )
        self.assertIn("MemberRoleArn", outcomes["member-primary-region"].outputs)
        self.assertNotIn("MemberRoleArn", outcomes["member-other-region"].outputs)

    def test_every_condition_takes_both_values(self):
        for name, combos in ts.COMBOS.items():
            with self.subTest(template=name):
                self.assertEqual(ts.condition_coverage_problems(sources[name], combos), [])


class Guard(unittest.TestCase):
    def test_the_transformed_template_passes_our_guard_rules(self):
        template = ts.transform(sources["template.yaml"], {})
        self.assertEqual(ts.guard(template), [])

    def test_a_wildcard_in_a_generated_role_fails_them(self):
        # Control: a wildcard statement in a function's policies, which SAM writes into the
        # role it generates.
        broken = copy.deepcopy(sources["template.yaml"])
        broken["Resources"]["EndpointSchedulerFunction"]["Properties"]["Policies"].append(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        )
        self.assertNotEqual(ts.guard(ts.transform(broken, {})), [])


class UnsupportedTypes(unittest.TestCase):
    def test_the_list_is_exactly_what_moto_cannot_create(self):
        problems = ts.unsupported_list_problems(types_in_templates(), ts.moto_supported_types())
        self.assertEqual(problems, [])

    def test_every_entry_says_why(self):
        for resource_type, why in ts.UNSUPPORTED.items():
            self.assertRegex(resource_type, r"^AWS::\w+::\w+$")
            self.assertTrue(why.strip(), resource_type)


class TheCheckCanFail(unittest.TestCase):
    """Controls: each breaks one thing and expects the check to name it, while the same
    check of the unbroken template passes (the combination tests above)."""

    def assertFails(self, source, parameters, *expected):
        with self.assertRaises(ts.CheckError) as raised:
            ts.check(source, parameters, emulator)
        for text in expected:
            self.assertIn(text, str(raised.exception))

    def test_a_bad_property_fails_cfn_lint(self):
        # On member.yaml, whose lint is quick; template.yaml goes through the same check().
        broken = copy.deepcopy(sources["member.yaml"])
        broken["Resources"]["MemberRole"]["Properties"]["MaxSessionDuration"] = 60  # 1 h to 12 h
        self.assertFails(
            broken,
            ts.COMBOS["member.yaml"]["member-primary-region"],
            "cfn-lint",
            "MemberRole",
            "MaxSessionDuration",
        )

    def test_a_condition_on_a_missing_parameter_fails(self):
        broken = copy.deepcopy(sources["member.yaml"])
        broken["Conditions"]["HasExternalId"] = {
            "Fn::Not": [{"Fn::Equals": [{"Ref": "ExternalIdentifier"}, ""]}]
        }
        self.assertFails(
            broken, ts.COMBOS["member.yaml"]["member-primary-region"], "ExternalIdentifier"
        )

    def test_a_parameter_value_cloudformation_refuses_fails(self):
        self.assertFails(
            sources["template.yaml"], {"KmsKeyArn": "my-key"}, "KmsKeyArn='my-key'"
        )

    def test_a_resource_moto_refuses_fails_create_stack(self):
        # cfn-lint cannot know the code's bucket does not exist; CreateStack can (moto checks
        # the bucket, not the key).
        broken = copy.deepcopy(sources["member.yaml"])
        broken["Resources"]["Probe"] = {
            "Type": "AWS::Lambda::Function",
            "Condition": "ForwardsEvents",
            "Properties": {
                "Code": {"S3Bucket": "no-such-code-bucket", "S3Key": "function.zip"},
                "Role": {"Fn::GetAtt": ["ForwardToHubRole", "Arn"]},
                "Runtime": "provided.al2023",
                "Handler": "bootstrap",
            },
        }
        self.assertFails(
            broken,
            ts.COMBOS["member.yaml"]["member-other-region"],
            "CreateStack failed",
            "NoSuchBucket",
        )

    def test_a_kept_resource_referring_to_a_left_out_one_fails(self):
        broken = copy.deepcopy(sources["member.yaml"])
        broken["Outputs"]["PassRolePolicy"] = {
            "Condition": "HasRetrainRole",
            "Value": {"Ref": "MemberRetrainPassRole"},
        }
        self.assertFails(
            broken,
            ts.COMBOS["member.yaml"]["member-primary-region+external-id+retraining"],
            "Outputs PassRolePolicy refers to MemberRetrainPassRole (AWS::IAM::RolePolicy)",
        )

    def test_an_unresolved_value_in_a_created_stack_is_named(self):
        # What a Sub moto could not resolve would leave: checked on a function and a role
        # policy made directly, as cfn-lint already refuses such a template.
        emulator.reset()
        iam, lambda_ = emulator.client("iam"), emulator.client("lambda")
        role = iam.create_role(
            RoleName="probe",
            AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}',
        )["Role"]["Arn"]
        iam.put_role_policy(
            RoleName="probe",
            PolicyName="p",
            PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::${Bucket}/*"}]}',
        )
        lambda_.create_function(
            FunctionName="probe",
            Role=role,
            Runtime="provided.al2023",
            Handler="bootstrap",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Environment={"Variables": {"QUEUE": "${Queue}"}},
        )
        problems = emulator.unresolved()
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("function probe environment", problems[0])
        self.assertIn("role probe policy p", problems[1])

    def test_a_new_type_moto_cannot_create_is_named(self):
        types = types_in_templates() | {"AWS::SecurityHub::Hub"}
        problems = ts.unsupported_list_problems(types, ts.moto_supported_types())
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("AWS::SecurityHub::Hub", problems[0])

    def test_a_type_moto_starts_creating_is_named(self):
        moto = ts.moto_supported_types() | {"AWS::SNS::TopicPolicy"}
        problems = ts.unsupported_list_problems(types_in_templates(), moto)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("AWS::SNS::TopicPolicy", problems[0])

    def test_a_condition_no_combination_turns_on_is_named(self):
        combos = {
            combo: {k: v for k, v in parameters.items() if k != "NotificationEmail"}
            for combo, parameters in ts.COMBOS["template.yaml"].items()
        }
        problems = ts.condition_coverage_problems(sources["template.yaml"], combos)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("HasNotificationEmail", problems[0])


if __name__ == "__main__":
    unittest.main()
