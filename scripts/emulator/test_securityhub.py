"""Quick tests of securityhub.py: BatchImportFindings, BatchUpdateFindings and GetFindings as
AWS documents them.

Same harness as test_extensions.py (its setUpModule/tearDownModule start and stop the
in-process server for this module too): boto3 over HTTP, no client-side validation, each test
from `/moto-api/reset` with Security Hub enabled in us-east-1.

Run: .venv/bin/python -m unittest discover -s scripts/emulator -p 'test_*.py'
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

import test_extensions as harness  # noqa: E402
from test_extensions import ACCOUNT, REGION, Case  # noqa: E402
from test_extensions import setUpModule, tearDownModule  # noqa: E402,F401  (run for this module)

OTHER_ACCOUNT = "210987654321"
PRODUCT = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
CREATED = "2026-11-30T10:00:00.000Z"
REQUIRED = (
    "AwsAccountId",
    "CreatedAt",
    "Description",
    "GeneratorId",
    "Id",
    "ProductArn",
    "Resources",
    "SchemaVersion",
    "Severity",
    "Title",
    "Types",
    "UpdatedAt",
)


def other_product():
    return f"arn:aws:securityhub:{REGION}:{OTHER_ACCOUNT}:product/{OTHER_ACCOUNT}/default"


def at(minute):
    """A timestamp `minute` minutes after CREATED."""
    return f"2026-11-30T10:{minute:02d}:00.000Z"


def finding(id_, function="scanner-a", **attributes):
    """A valid finding as the Rust code sends it; `attributes` replace top-level ones."""
    record = {
        "SchemaVersion": "2018-10-08",
        "Id": id_,
        "ProductArn": PRODUCT,
        "GeneratorId": "sagekeeper/encryption/endpoint-kms",
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
        "CreatedAt": CREATED,
        "UpdatedAt": CREATED,
        "Severity": {"Label": "HIGH"},
        "Title": f"Endpoint {id_} is not encrypted with a customer key",
        "Description": "The endpoint's storage volume uses the AWS managed key.",
        "Resources": [
            {
                "Type": "AwsSageMakerEndpoint",
                "Id": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{id_}",
                "Partition": "aws",
                "Region": REGION,
            }
        ],
        "Compliance": {"Status": "FAILED"},
        "ProductFields": {"sagekeeper/function": function},
        "RecordState": "ACTIVE",
    }
    record.update(attributes)
    return record


def hub_client(region=REGION, account=ACCOUNT):
    """A Security Hub client as test_extensions.client makes them, in `region`, its requests
    made as `account` (moto takes the account from this header before the access key)."""
    hub = boto3.client(
        "securityhub",
        endpoint_url=harness.URL,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )

    def as_account(request, **_):
        request.headers["x-moto-account-id"] = account

    hub.meta.events.register("before-sign.securityhub.*", as_account)
    return hub


class SecurityHubCase(Case):
    def setUp(self):
        super().setUp()
        self.hub = hub_client()
        self.hub.enable_security_hub()

    def imported(self, *findings, hub=None):
        return (hub or self.hub).batch_import_findings(Findings=list(findings))

    def all_findings(self, filters=None, hub=None):
        """Every finding GetFindings returns for `filters`, read page by page."""
        found, token = [], None
        while True:
            kwargs = {"Filters": filters or {}, "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = (hub or self.hub).get_findings(**kwargs)
            found += page["Findings"]
            token = page.get("NextToken")
            if not token:
                return found

    def ids(self, filters=None, hub=None):
        return sorted(f["Id"] for f in self.all_findings(filters, hub))

    def only(self, id_):
        (found,) = self.all_findings({"Id": [{"Value": id_, "Comparison": "EQUALS"}]})
        return found

    def assertStatus(self, error, status):
        self.assertEqual(error.response["ResponseMetadata"]["HTTPStatusCode"], status)


class Import(SecurityHubCase):
    def test_a_hub_not_enabled_fails_every_finding_and_refuses_reads(self):
        elsewhere = hub_client(account=OTHER_ACCOUNT)
        theirs = {"ProductArn": other_product(), "AwsAccountId": OTHER_ACCOUNT}
        answer = self.imported(finding("a", **theirs), finding("b", **theirs), hub=elsewhere)
        # finding-update-batchimportfindings: FailedFindings with an InvalidAccess error.
        self.assertEqual((answer["SuccessCount"], answer["FailedCount"]), (0, 2))
        self.assertEqual(
            {(f["Id"], f["ErrorCode"]) for f in answer["FailedFindings"]},
            {("a", "InvalidAccess"), ("b", "InvalidAccess")},
        )
        error = self.assertError("InvalidAccessException", elsewhere.get_findings)
        self.assertStatus(error, 401)
        self.assertIn(f"Account {OTHER_ACCOUNT} is not subscribed", str(error))
        # Enabled per region: ours is enabled in us-east-1 only.
        self.assertError("InvalidAccessException", hub_client(region="us-west-2").get_findings)

    def test_more_than_100_findings_is_invalid_input_and_imports_nothing(self):
        error = self.assertError(
            "InvalidInputException",
            self.hub.batch_import_findings,
            Findings=[finding(f"f{i}") for i in range(101)],
        )
        self.assertStatus(error, 400)
        self.assertEqual(self.ids(), [])
        self.assertError("InvalidInputException", self.hub.batch_import_findings, Findings=[])
        answer = self.imported(*(finding(f"f{i}") for i in range(100)))
        self.assertEqual((answer["SuccessCount"], answer["FailedCount"]), (100, 0))

    def test_a_finding_missing_types_fails_while_the_rest_is_imported(self):
        bad = finding("no-types")
        del bad["Types"]
        answer = self.imported(finding("good"), bad)
        self.assertEqual((answer["SuccessCount"], answer["FailedCount"]), (1, 1))
        (failed,) = answer["FailedFindings"]
        self.assertEqual((failed["Id"], failed["ErrorCode"]), ("no-types", "InvalidInput"))
        self.assertIn("'Types'", failed["ErrorMessage"])
        self.assertEqual(self.ids(), ["good"])

    def test_each_documented_rule_fails_the_finding(self):
        def without(name):
            record = finding("x")
            del record[name]
            return record

        cases = {f"missing {name}": without(name) for name in REQUIRED}
        cases.update(
            {
                "no resources": finding("x", Resources=[]),
                "resource without Type": finding("x", Resources=[{"Id": "r"}]),
                "empty Types": finding("x", Types=[]),
                "unknown severity label": finding("x", Severity={"Label": "SEVERE"}),
                "severity without label or normalized": finding("x", Severity={"Original": "9"}),
                "unknown compliance status": finding("x", Compliance={"Status": "OK"}),
                "unknown record state": finding("x", RecordState="DELETED"),
                "timestamp without T": finding("x", UpdatedAt="2026-11-30 10:00:00"),
                "timestamp not a date": finding("x", CreatedAt="yesterday"),
                "timestamp 10 fraction digits": finding("x", CreatedAt=at(0)[:-1] + "1234567Z"),
                "title over 256": finding("x", Title="t" * 257),
                "description over 1024": finding("x", Description="d" * 1025),
                "other schema version": finding("x", SchemaVersion="2020-01-01"),
                "short account id": finding("x", AwsAccountId="1234"),
            }
        )
        for name, record in cases.items():
            with self.subTest(name):
                answer = self.imported(record)
                self.assertEqual(answer["FailedCount"], 1, answer)
                self.assertEqual(answer["FailedFindings"][0]["ErrorCode"], "InvalidInput")
        self.assertEqual(self.ids(), [])

        # Severity and Types may come in FindingProviderFields instead (asff-required-attributes).
        record = finding("provider-fields")
        provided = {"Severity": record.pop("Severity"), "Types": record.pop("Types")}
        answer = self.imported({**record, "FindingProviderFields": provided})
        self.assertEqual(answer["FailedCount"], 0)
        self.assertEqual(self.only("provider-fields")["Severity"]["Label"], "HIGH")
        # Offsets and nanoseconds are documented formats.
        offsets = {
            "CreatedAt": "2026-11-30T11:00:00.123456789+01:00",
            "UpdatedAt": "2026-11-30T10:00:00-0000",
        }
        self.assertEqual(self.imported(finding("offsets", **offsets))["FailedCount"], 0)

    def test_another_accounts_product_or_findings_are_access_denied(self):
        west_product = f"arn:aws:securityhub:us-west-2:{ACCOUNT}:product/{ACCOUNT}/default"
        for name, record in {
            "other account's product": finding("x", ProductArn=other_product()),
            "other account's finding": finding("x", AwsAccountId=OTHER_ACCOUNT),
            "product in another region": finding("x", ProductArn=west_product),
        }.items():
            with self.subTest(name):
                error = self.assertError(
                    "AccessDeniedException",
                    self.hub.batch_import_findings,
                    Findings=[finding("good"), record],
                )
                self.assertStatus(error, 403)
        self.assertEqual(self.ids(), [])

    def test_a_new_finding_gets_what_aws_adds(self):
        record = finding("a")
        del record["RecordState"]
        self.imported(record)
        found = self.only("a")
        self.assertEqual(found["Workflow"], {"Status": "NEW"})
        self.assertEqual(found["RecordState"], "ACTIVE")
        self.assertEqual(found["Region"], REGION)
        self.assertEqual(found["Severity"], {"Label": "HIGH", "Normalized": 70})
        self.assertEqual(found["FindingProviderFields"]["Types"], finding("a")["Types"])
        self.assertEqual(
            found["ProductFields"],
            {
                "sagekeeper/function": "scanner-a",
                "aws/securityhub/FindingId": f"{PRODUCT}/a",
                "aws/securityhub/ProductName": "Default",
                "aws/securityhub/CompanyName": "Personal",
            },
        )
        self.assertEqual((found["CompanyName"], found["ProductName"]), ("Personal", "Default"))
        self.imported(finding("b", Severity={"Normalized": 45}))
        self.assertEqual(self.only("b")["Severity"]["Label"], "MEDIUM")


class Update(SecurityHubCase):
    def test_reimport_replaces_the_finding_in_place(self):
        self.imported(finding("a", Remediation={"Recommendation": {"Text": "Use a CMK."}}))
        self.imported(finding("b"))
        changed = finding(
            "a", UpdatedAt=at(5), Compliance={"Status": "PASSED"}, Title="Endpoint a is fine now"
        )
        self.assertEqual(self.imported(changed)["SuccessCount"], 1)
        found = self.all_findings()
        self.assertEqual([f["Id"] for f in found], ["a", "b"])  # same place, not a new finding
        a = found[0]
        self.assertEqual((a["UpdatedAt"], a["Title"]), (at(5), "Endpoint a is fine now"))
        self.assertEqual(a["Compliance"]["Status"], "PASSED")
        self.assertNotIn("Remediation", a)  # overwritten, not merged
        # AWS sets RESOLVED on PASSED only for its own control findings: this one stays NEW.
        self.assertEqual(a["Workflow"]["Status"], "NEW")

        # An import whose UpdatedAt is not later is ignored (finding-update-batchimportfindings).
        for stale in (at(5), at(1)):
            answer = self.imported(finding("a", UpdatedAt=stale, Title="stale"))
            self.assertEqual(answer["FailedCount"], 0)
            self.assertEqual(self.only("a")["Title"], "Endpoint a is fine now")

    def test_workflow_goes_back_to_new_when_a_passed_finding_fails_again(self):
        for status in ("RESOLVED", "NOTIFIED"):
            with self.subTest(status):
                self.imported(
                    finding(status, Compliance={"Status": "PASSED"}, Workflow={"Status": status})
                )
                self.assertEqual(self.only(status)["Workflow"]["Status"], status)
                self.imported(finding(status, UpdatedAt=at(1), Compliance={"Status": "FAILED"}))
                self.assertEqual(self.only(status)["Workflow"]["Status"], "NEW")

        passed, failed = {"Status": "PASSED"}, {"Status": "FAILED"}
        self.imported(finding("quiet", Compliance=passed, Workflow={"Status": "SUPPRESSED"}))
        self.imported(finding("quiet", UpdatedAt=at(1), Compliance=failed))
        self.assertEqual(self.only("quiet")["Workflow"]["Status"], "SUPPRESSED")

        self.imported(finding("still", Compliance=failed, Workflow={"Status": "RESOLVED"}))
        self.imported(finding("still", UpdatedAt=at(1), Compliance=failed))
        self.assertEqual(self.only("still")["Workflow"]["Status"], "RESOLVED")

    def test_workflow_goes_back_to_new_when_an_archived_finding_is_active_again(self):
        self.imported(finding("a", RecordState="ARCHIVED", Workflow={"Status": "NOTIFIED"}))
        self.imported(finding("a", UpdatedAt=at(1), RecordState="ACTIVE"))
        self.assertEqual(self.only("a")["Workflow"]["Status"], "NEW")

        self.imported(finding("b", Workflow={"Status": "RESOLVED"}))
        self.imported(finding("b", UpdatedAt=at(1), RecordState="ARCHIVED"))
        self.assertEqual(self.only("b")["Workflow"]["Status"], "RESOLVED")

    def test_an_update_cannot_set_the_workflow(self):
        self.imported(finding("a"))
        self.imported(finding("a", UpdatedAt=at(1), Workflow={"Status": "SUPPRESSED"}))
        self.assertEqual(self.only("a")["Workflow"]["Status"], "NEW")


def equals(value):
    return [{"Value": value, "Comparison": "EQUALS"}]


class Query(SecurityHubCase):
    def seed(self):
        tagging = "sagekeeper/tagging/owner-tag"
        bucket = [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::data"}]
        self.imported(
            finding("a-failed"),
            finding("a-passed", Compliance={"Status": "PASSED"}, Severity={"Label": "LOW"}),
            finding("a-archived", RecordState="ARCHIVED"),
            finding("a-tagging", GeneratorId=tagging, Compliance={"Status": "WARNING"}),
            finding("b-failed", function="scanner-b"),
            finding("b-bucket", function="scanner-b", Resources=bucket),
        )

    def test_the_scanners_own_active_findings(self):
        self.seed()
        mine = {
            "ProductArn": equals(PRODUCT),
            "AwsAccountId": equals(ACCOUNT),
            "RecordState": equals("ACTIVE"),
            "ProductFields": [
                {"Key": "sagekeeper/function", "Value": "scanner-a", "Comparison": "EQUALS"}
            ],
        }
        self.assertEqual(self.ids(mine), ["a-failed", "a-passed", "a-tagging"])
        prefix = [{"Value": "sagekeeper/encryption/", "Comparison": "PREFIX"}]
        self.assertEqual(self.ids({**mine, "GeneratorId": prefix}), ["a-failed", "a-passed"])
        not_passed = [{"Value": "PASSED", "Comparison": "NOT_EQUALS"}]
        failing = self.ids({**mine, "ComplianceStatus": not_passed})
        self.assertEqual(failing, ["a-failed", "a-tagging"])
        self.assertEqual(self.ids({**mine, "ComplianceStatus": equals("WARNING")}), ["a-tagging"])

    def test_comparisons_combine_as_documented(self):
        self.seed()
        # Positive filters on one field are OR'd.
        both = equals("ACTIVE") + equals("ARCHIVED")
        self.assertEqual(len(self.ids({"RecordState": both})), 6)
        # Negative ones are AND'd, and PREFIX is applied before them.
        self.assertEqual(
            self.ids(
                {
                    "Id": [
                        {"Value": "a-", "Comparison": "PREFIX"},
                        {"Value": "a-passed", "Comparison": "NOT_EQUALS"},
                        {"Value": "a-arch", "Comparison": "PREFIX_NOT_EQUALS"},
                    ]
                }
            ),
            ["a-failed", "a-tagging"],
        )
        other_function = [
            {"Key": "sagekeeper/function", "Value": "scanner-a", "Comparison": "NOT_EQUALS"}
        ]
        self.assertEqual(self.ids({"ProductFields": other_function}), ["b-bucket", "b-failed"])
        self.assertEqual(self.ids({"ResourceType": equals("AwsS3Bucket")}), ["b-bucket"])
        self.assertEqual(self.ids({"SeverityLabel": equals("LOW")}), ["a-passed"])
        self.assertEqual(self.ids({"WorkflowStatus": equals("NEW")}), self.ids())
        title = [{"Value": "Endpoint b-", "Comparison": "PREFIX"}]
        self.assertEqual(self.ids({"Title": title}), ["b-bucket", "b-failed"])

    def test_twenty_ids_are_one_lookup(self):
        self.seed()
        every = self.ids()
        wanted = every[:2] + [f"absent-{i}" for i in range(18)]
        by_ids = {"Id": [{"Value": i, "Comparison": "EQUALS"} for i in wanted]}
        self.assertEqual(self.ids(by_ids), every[:2])

    def test_ten_attributes_are_accepted(self):
        self.seed()
        names = ("Id", "ProductArn", "AwsAccountId", "GeneratorId", "Title", "Description",
                 "RecordState", "Region", "ProductName", "CompanyName")
        ten = {name: [{"Value": "", "Comparison": "PREFIX"}] for name in names}
        self.assertEqual(len(self.ids(ten)), len(self.ids()))

    def test_filters_aws_refuses_or_the_emulator_does_not_know_are_errors(self):
        self.seed()
        for name, filters in {
            "EQUALS with NOT_EQUALS": {
                "RecordState": equals("ACTIVE")
                + [{"Value": "ARCHIVED", "Comparison": "NOT_EQUALS"}]
            },
            "CONTAINS": {"Title": [{"Value": "Endpoint", "Comparison": "CONTAINS"}]},
            "map EQUALS with NOT_EQUALS on a key": {
                "ProductFields": [
                    {"Key": "k", "Value": "1", "Comparison": "EQUALS"},
                    {"Key": "k", "Value": "2", "Comparison": "NOT_EQUALS"},
                ]
            },
            "field the emulator does not filter on": {"NoteText": equals("x")},
            "21 values for one attribute": {
                "Id": [{"Value": f"id-{i}", "Comparison": "EQUALS"} for i in range(21)]
            },
            "11 attributes": {
                name: equals("x")
                for name in (
                    "Id", "ProductArn", "AwsAccountId", "GeneratorId", "Title", "Description",
                    "RecordState", "Region", "ProductName", "CompanyName", "SourceUrl",
                )
            },
        }.items():
            with self.subTest(name):
                error = self.assertError(
                    "InvalidInputException", self.hub.get_findings, Filters=filters
                )
                self.assertStatus(error, 400)

    def test_paging_returns_every_finding_once(self):
        ids = [f"finding-{i:03d}" for i in range(250)]
        for start in range(0, 250, 100):
            answer = self.imported(*(finding(i) for i in ids[start : start + 100]))
            self.assertEqual(answer["FailedCount"], 0)
        sizes, seen, token = [], [], None
        while True:
            page = self.hub.get_findings(MaxResults=100, **({"NextToken": token} if token else {}))
            sizes.append(len(page["Findings"]))
            seen += [f["Id"] for f in page["Findings"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(sizes, [100, 100, 50])
        self.assertEqual(seen, ids)  # each once, in a stable order
        self.assertEqual(len(self.hub.get_findings()["Findings"]), 100)  # the default page
        for bad in ({"MaxResults": 0}, {"MaxResults": 101}, {"NextToken": "not-a-token"}):
            with self.subTest(bad):
                self.assertError("InvalidInputException", self.hub.get_findings, **bad)

    def test_findings_belong_to_one_account_and_region(self):
        self.imported(finding("ours"))
        other = hub_client(account=OTHER_ACCOUNT)
        other.enable_security_hub()
        self.assertEqual(self.ids(hub=other), [])
        theirs = finding("theirs", ProductArn=other_product(), AwsAccountId=OTHER_ACCOUNT)
        self.assertEqual(self.imported(theirs, hub=other)["FailedCount"], 0)
        self.assertEqual(self.ids(hub=other), ["theirs"])
        self.assertEqual(self.ids(), ["ours"])
        west = hub_client(region="us-west-2")
        west.enable_security_hub()
        self.assertEqual(self.ids(hub=west), [])

    def test_sort_criteria(self):
        self.seed()
        found = self.hub.get_findings(SortCriteria=[{"Field": "Id", "SortOrder": "desc"}])
        self.assertEqual([f["Id"] for f in found["Findings"]], sorted(self.ids(), reverse=True))


def identifier(id_, product=PRODUCT):
    return {"Id": id_, "ProductArn": product}


class CustomerUpdate(SecurityHubCase):
    """BatchUpdateFindings, as API_BatchUpdateFindings and the user guide's
    finding-update-batchupdatefindings describe it."""

    def updated(self, *ids, **fields):
        return self.hub.batch_update_findings(
            FindingIdentifiers=[identifier(i) for i in ids], **fields
        )

    def test_resolved_is_read_back_through_a_workflow_filter(self):
        self.imported(finding("a"), finding("b"))
        answer = self.updated(
            "a",
            Workflow={"Status": "RESOLVED"},
            Note={"Text": "Moved to a customer key.", "UpdatedBy": "oncall"},
            Severity={"Label": "LOW"},
            UserDefinedFields={"ticket": "SEC-42"},
        )
        self.assertEqual(answer["ProcessedFindings"], [identifier("a")])
        self.assertEqual(answer["UnprocessedFindings"], [])
        self.assertEqual(self.ids({"WorkflowStatus": equals("RESOLVED")}), ["a"])
        self.assertEqual(self.ids({"WorkflowStatus": equals("NEW")}), ["b"])
        a = self.only("a")
        self.assertEqual(
            (a["Note"]["Text"], a["Note"]["UpdatedBy"]), ("Moved to a customer key.", "oncall")
        )
        self.assertEqual(a["Severity"], {"Label": "LOW", "Normalized": 1})
        self.assertEqual(a["UserDefinedFields"], {"ticket": "SEC-42"})
        self.assertEqual(a["UpdatedAt"], CREATED)  # BatchUpdateFindings leaves UpdatedAt alone
        # Customers change the top-level Severity, never the provider's.
        self.assertEqual(a["FindingProviderFields"]["Severity"]["Label"], "HIGH")
        self.assertEqual(self.ids({"SeverityLabel": equals("LOW")}), ["a"])

    def test_an_unknown_finding_is_unprocessed_while_a_known_one_is_updated(self):
        self.imported(finding("known"))
        answer = self.hub.batch_update_findings(
            FindingIdentifiers=[
                identifier("missing"),
                identifier("known"),
                identifier("known", product=other_product()),  # same Id, another product
            ],
            Workflow={"Status": "SUPPRESSED"},
        )
        self.assertEqual(answer["ProcessedFindings"], [identifier("known")])
        self.assertEqual(
            [(u["FindingIdentifier"], u["ErrorCode"]) for u in answer["UnprocessedFindings"]],
            [
                (identifier("missing"), "FindingNotFound"),
                (identifier("known", product=other_product()), "FindingNotFound"),
            ],
        )
        self.assertEqual(answer["UnprocessedFindings"][0]["ErrorMessage"], "Finding Not Found")
        self.assertEqual(self.only("known")["Workflow"]["Status"], "SUPPRESSED")

        self.imported(finding("twice"))
        answer = self.updated("twice", "twice", Workflow={"Status": "RESOLVED"})
        self.assertEqual(answer["ProcessedFindings"], [])
        self.assertEqual(
            {u["ErrorCode"] for u in answer["UnprocessedFindings"]},
            {"DuplicatedFindingIdentifier"},
        )
        self.assertEqual(self.only("twice")["Workflow"]["Status"], "NEW")

    def test_more_than_100_findings_or_nothing_to_change_is_invalid_input(self):
        ids = [f"f{i:03d}" for i in range(101)]
        self.imported(*(finding(i) for i in ids[:100]))
        self.imported(finding(ids[100]))
        resolve = {"Workflow": {"Status": "RESOLVED"}}
        for name, ids_, fields in (
            ("101 identifiers", ids, resolve),
            ("no identifier", [], resolve),
            ("no field to update", ids[:1], {}),
            ("unknown workflow status", ids[:1], {"Workflow": {"Status": "DONE"}}),
            ("note without author", ids[:1], {"Note": {"Text": "x"}}),
            ("severity label", ids[:1], {"Severity": {"Label": "SEVERE"}}),
        ):
            with self.subTest(name):
                error = self.assertError("InvalidInputException", self.updated, *ids_, **fields)
                self.assertStatus(error, 400)
        self.assertEqual(self.ids({"WorkflowStatus": equals("RESOLVED")}), [])
        answer = self.updated(*ids[:100], **resolve)
        self.assertEqual(len(answer["ProcessedFindings"]), 100)

    def test_a_hub_not_enabled_is_invalid_access(self):
        elsewhere = hub_client(account=OTHER_ACCOUNT)
        error = self.assertError(
            "InvalidAccessException",
            elsewhere.batch_update_findings,
            FindingIdentifiers=[identifier("a", product=other_product())],
            Workflow={"Status": "RESOLVED"},
        )
        self.assertStatus(error, 401)
        self.assertIn(f"Account {OTHER_ACCOUNT} is not subscribed", str(error))

    def test_a_resolved_finding_that_fails_again_is_new(self):
        passed, failed = {"Status": "PASSED"}, {"Status": "FAILED"}
        self.imported(finding("a", Compliance=passed))
        self.updated(
            "a",
            Workflow={"Status": "RESOLVED"},
            Note={"Text": "Fixed.", "UpdatedBy": "oncall"},
            Severity={"Label": "LOW"},
        )
        self.imported(finding("a", UpdatedAt=at(1), Compliance=passed, Title="still fine"))
        a = self.only("a")
        self.assertEqual((a["Title"], a["Workflow"]["Status"]), ("still fine", "RESOLVED"))
        self.imported(
            finding("a", UpdatedAt=at(2), Compliance=failed, Severity={"Label": "CRITICAL"})
        )
        a = self.only("a")
        self.assertEqual(a["Workflow"]["Status"], "NEW")
        self.assertEqual(a["Note"]["Text"], "Fixed.")  # an import cannot change the note
        # Once a customer has set Severity, imports change only the provider's copy
        # (finding-update-batchimportfindings).
        self.assertEqual(a["Severity"]["Label"], "LOW")
        self.assertEqual(a["FindingProviderFields"]["Severity"]["Label"], "CRITICAL")


if __name__ == "__main__":
    import unittest

    unittest.main()
