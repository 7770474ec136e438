"""Quick tests of the emulator extensions that add operations (studio.py, monitoring.py;
securityhub.py's are in test_securityhub.py, on this module's server fixtures) and of
s3_checksums.py.

They start moto in this process with the same extensions scripts/emulator.sh installs
(importing server.py installs them), on a free 127.0.0.1 port, and speak to it through boto3
over HTTP, as the Rust SDK does. Each test starts from `/moto-api/reset`.

Run: .venv/bin/python -m unittest discover -s scripts/emulator -p 'test_*.py'
"""

import base64
import hashlib
import http.client
import logging
import socket
import zlib
import sys
import unittest
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

import server  # noqa: E402,F401  (installs every extension, as scripts/emulator.sh does)

REGION, ACCOUNT = "us-east-1", "123456789012"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/studio"
URL = None
_server = None


def setUpModule():
    global URL, _server
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    _server.start()
    URL = f"http://127.0.0.1:{port}"


def tearDownModule():
    _server.stop()


def client(service):
    """A client as the tests of the Rust code have one: no retries, and no client-side
    validation, so the emulator's own answers to bad parameters are what is tested."""
    return boto3.client(
        service,
        endpoint_url=URL,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def reset():
    urllib.request.urlopen(urllib.request.Request(URL + "/moto-api/reset", method="POST")).read()


def epoch(when):
    return int(when.timestamp())


def tags_of(response):
    return {t["Key"]: t["Value"] for t in response["Tags"]}


class Case(unittest.TestCase):
    def setUp(self):
        reset()
        self.sm = client("sagemaker")

    def assertError(self, code, call, *args, **kwargs):
        with self.assertRaises(ClientError) as raised:
            call(*args, **kwargs)
        self.assertEqual(
            raised.exception.response["Error"]["Code"], code, raised.exception.response
        )
        return raised.exception

    def domain(self, name="studio", tags=None, **settings):
        kwargs = {
            "DomainName": name,
            "AuthMode": "IAM",
            "SubnetIds": ["subnet-1"],
            "VpcId": "vpc-1",
        }
        kwargs["DefaultUserSettings"] = settings.pop("DefaultUserSettings", {"ExecutionRole": ROLE})
        if tags:
            kwargs["Tags"] = tags
        self.sm.create_domain(**kwargs, **settings)
        return f"d-{name}"


JUPYTER_SPEC = {
    "InstanceType": "ml.t3.medium",
    "SageMakerImageArn": f"arn:aws:sagemaker:{REGION}:081325390199:image/sagemaker-distribution-cpu",
    "LifecycleConfigArn": f"{ARN}:studio-lifecycle-config/install-tools",
}
SPACE_SETTINGS = {
    "AppType": "JupyterLab",
    "JupyterLabAppSettings": {"DefaultResourceSpec": JUPYTER_SPEC},
    "SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": 20}},
}


class UserProfiles(Case):
    def test_create_describe_list_update_delete(self):
        d = self.domain()
        settings = {
            "ExecutionRole": ROLE,
            "CustomPosixUserConfig": {"Uid": 0, "Gid": 0},
            "SharingSettings": {"NotebookOutputOption": "Allowed", "S3KmsKeyId": "key-1"},
            "CanvasAppSettings": {"WorkspaceSettings": {"S3KmsKeyId": "key-2"}},
        }
        arn = self.sm.create_user_profile(
            DomainId=d,
            UserProfileName="alice",
            UserSettings=settings,
            Tags=[{"Key": "owner", "Value": "alice"}],
        )["UserProfileArn"]
        self.assertEqual(arn, f"{ARN}:user-profile/{d}/alice")
        self.sm.create_user_profile(DomainId=d, UserProfileName="bob")

        described = self.sm.describe_user_profile(DomainId=d, UserProfileName="alice")
        self.assertEqual(described["UserSettings"], settings)
        self.assertEqual(
            (described["UserProfileArn"], described["Status"], described["DomainId"]),
            (arn, "InService", d),
        )
        self.assertIsInstance(described["CreationTime"], datetime)

        self.assertError(
            "ResourceInUse", self.sm.create_user_profile, DomainId=d, UserProfileName="alice"
        )
        self.assertError(
            "ResourceNotFound", self.sm.create_user_profile, DomainId="d-none", UserProfileName="x"
        )
        self.assertError(
            "ResourceNotFound", self.sm.describe_user_profile, DomainId=d, UserProfileName="carol"
        )

        listed = self.sm.list_user_profiles(DomainIdEquals=d)["UserProfiles"]
        self.assertEqual([p["UserProfileName"] for p in listed], ["alice", "bob"])
        self.assertEqual(
            set(listed[0]),
            {"DomainId", "UserProfileName", "Status", "CreationTime", "LastModifiedTime"},
        )
        contains = self.sm.list_user_profiles(UserProfileNameContains="li")["UserProfiles"]
        self.assertEqual([p["UserProfileName"] for p in contains], ["alice"])
        descending = self.sm.list_user_profiles(SortOrder="Descending")["UserProfiles"]
        self.assertEqual([p["UserProfileName"] for p in descending], ["bob", "alice"])

        self.sm.update_user_profile(
            DomainId=d,
            UserProfileName="alice",
            UserSettings={"CustomPosixUserConfig": {"Uid": 1000, "Gid": 100}},
        )
        updated = self.sm.describe_user_profile(DomainId=d, UserProfileName="alice")["UserSettings"]
        self.assertEqual(updated["CustomPosixUserConfig"], {"Uid": 1000, "Gid": 100})
        self.assertEqual(updated["ExecutionRole"], ROLE, "keys not given are kept")

        self.sm.delete_user_profile(DomainId=d, UserProfileName="alice")
        self.assertError(
            "ResourceNotFound", self.sm.describe_user_profile, DomainId=d, UserProfileName="alice"
        )
        self.assertError(
            "ResourceNotFound", self.sm.delete_user_profile, DomainId=d, UserProfileName="alice"
        )


class Spaces(Case):
    def test_create_describe_list_update_delete(self):
        d = self.domain()
        self.sm.create_user_profile(DomainId=d, UserProfileName="alice")
        arn = self.sm.create_space(
            DomainId=d,
            SpaceName="lab",
            SpaceSettings=SPACE_SETTINGS,
            OwnershipSettings={"OwnerUserProfileName": "alice"},
            SpaceSharingSettings={"SharingType": "Private"},
            SpaceDisplayName="Alice's lab",
        )["SpaceArn"]
        self.assertEqual(arn, f"{ARN}:space/{d}/lab")

        described = self.sm.describe_space(DomainId=d, SpaceName="lab")
        self.assertEqual(described["SpaceSettings"], SPACE_SETTINGS)
        self.assertEqual(described["OwnershipSettings"], {"OwnerUserProfileName": "alice"})
        self.assertEqual(described["SpaceSharingSettings"], {"SharingType": "Private"})
        self.assertEqual(
            (described["SpaceDisplayName"], described["Status"]), ("Alice's lab", "InService")
        )

        (summary,) = self.sm.list_spaces(DomainIdEquals=d)["Spaces"]
        self.assertEqual(
            summary["SpaceSettingsSummary"],
            {
                "AppType": "JupyterLab",
                "SpaceStorageSettings": SPACE_SETTINGS["SpaceStorageSettings"],
            },
        )
        self.assertEqual(summary["OwnershipSettingsSummary"], {"OwnerUserProfileName": "alice"})
        self.assertEqual(summary["SpaceSharingSettingsSummary"], {"SharingType": "Private"})
        self.assertEqual(self.sm.list_spaces(SpaceNameContains="nope")["Spaces"], [])

        self.assertError("ResourceInUse", self.sm.create_space, DomainId=d, SpaceName="lab")
        self.assertError(
            "ResourceNotFound", self.sm.create_space, DomainId="d-none", SpaceName="lab"
        )

        self.sm.update_space(
            DomainId=d,
            SpaceName="lab",
            SpaceDisplayName="Lab",
            SpaceSettings={"AppType": "CodeEditor"},
        )
        updated = self.sm.describe_space(DomainId=d, SpaceName="lab")
        self.assertEqual(
            (updated["SpaceDisplayName"], updated["SpaceSettings"]["AppType"]),
            ("Lab", "CodeEditor"),
        )
        self.assertEqual(
            updated["SpaceSettings"]["JupyterLabAppSettings"],
            SPACE_SETTINGS["JupyterLabAppSettings"],
        )

        self.sm.delete_space(DomainId=d, SpaceName="lab")
        self.assertError("ResourceNotFound", self.sm.describe_space, DomainId=d, SpaceName="lab")


class Apps(Case):
    def setUp(self):
        super().setUp()
        self.d = self.domain(
            DefaultUserSettings={
                "ExecutionRole": ROLE,
                "KernelGatewayAppSettings": {
                    "DefaultResourceSpec": {"InstanceType": "ml.t3.large"}
                },
            },
            DefaultSpaceSettings={
                "ExecutionRole": ROLE,
                "JupyterLabAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.m5.large"}},
            },
        )
        self.sm.create_user_profile(DomainId=self.d, UserProfileName="alice")
        self.sm.create_space(DomainId=self.d, SpaceName="lab", SpaceSettings=SPACE_SETTINGS)

    def app(self, name="default", app_type="JupyterLab", space="lab", **kwargs):
        owner = (
            {"SpaceName": space} if space else {"UserProfileName": kwargs.pop("profile", "alice")}
        )
        return self.sm.create_app(
            DomainId=self.d, AppType=app_type, AppName=name, **owner, **kwargs
        )["AppArn"]

    def describe(self, name="default", app_type="JupyterLab", **owner):
        owner = owner or {"SpaceName": "lab"}
        return self.sm.describe_app(DomainId=self.d, AppType=app_type, AppName=name, **owner)

    def test_create_describe_delete(self):
        arn = self.app()
        self.assertEqual(arn, f"{ARN}:app/{self.d}/lab/jupyterlab/default")
        app = self.describe()
        self.assertEqual(
            (app["AppArn"], app["Status"], app["SpaceName"]), (arn, "InService", "lab")
        )
        self.assertEqual(app["ResourceSpec"], JUPYTER_SPEC, "from the space's DefaultResourceSpec")
        self.assertEqual(app["LastUserActivityTimestamp"], app["CreationTime"])
        self.assertNotIn("UserProfileName", app)

        self.assertError("ResourceInUse", self.app)
        self.sm.delete_app(
            DomainId=self.d, SpaceName="lab", AppType="JupyterLab", AppName="default"
        )
        self.assertEqual(self.describe()["Status"], "Deleted")
        (listed,) = self.sm.list_apps(SpaceNameEquals="lab")["Apps"]
        self.assertEqual(listed["Status"], "Deleted", "a deleted app stays listed")
        self.assertError(
            "ResourceNotFound",
            self.sm.delete_app,
            DomainId=self.d,
            SpaceName="lab",
            AppType="JupyterLab",
            AppName="default",
        )
        self.app()  # again over the deleted one
        self.assertEqual(self.describe()["Status"], "InService")
        statuses = [a["Status"] for a in self.sm.list_apps(SpaceNameEquals="lab")["Apps"]]
        self.assertEqual(statuses, ["Deleted", "InService"], "both records listed, oldest first")

    def test_a_space_runs_one_app_at_a_time(self):
        self.app()
        self.assertError("ResourceInUse", self.app, name="default", app_type="CodeEditor")
        self.sm.delete_app(
            DomainId=self.d, SpaceName="lab", AppType="JupyterLab", AppName="default"
        )
        self.app(app_type="CodeEditor")  # control: once the first is deleted

    def test_resource_spec_from_request_owner_or_domain(self):
        self.app(ResourceSpec={"InstanceType": "ml.g5.xlarge"})
        merged = self.describe()["ResourceSpec"]
        self.assertEqual(merged, {**JUPYTER_SPEC, "InstanceType": "ml.g5.xlarge"})

        self.app(name="kg", app_type="KernelGateway", space=None)
        from_domain = self.describe("kg", "KernelGateway", UserProfileName="alice")["ResourceSpec"]
        self.assertEqual(
            from_domain, {"InstanceType": "ml.t3.large"}, "the domain's DefaultUserSettings"
        )

        self.sm.create_space(DomainId=self.d, SpaceName="bare")
        self.app(space="bare")
        from_space_default = self.describe(SpaceName="bare")["ResourceSpec"]
        self.assertEqual(
            from_space_default, {"InstanceType": "ml.m5.large"}, "the domain's DefaultSpaceSettings"
        )

        self.app(name="ce", app_type="CodeEditor", space=None)
        self.assertNotIn(
            "ResourceSpec",
            self.describe("ce", "CodeEditor", UserProfileName="alice"),
            "no default to fill in",
        )

    def test_owner_errors(self):
        both = {"UserProfileName": "alice", "SpaceName": "lab"}
        for owner in (both, {}):
            self.assertError(
                "ValidationException",
                self.sm.create_app,
                DomainId=self.d,
                AppType="JupyterLab",
                AppName="default",
                **owner,
            )
            self.assertError(
                "ValidationException",
                self.sm.describe_app,
                DomainId=self.d,
                AppType="JupyterLab",
                AppName="default",
                **owner,
            )
        self.assertError("ResourceNotFound", self.app, space="nope")
        self.assertError("ResourceNotFound", self.app, space=None, profile="nobody")
        self.assertError(
            "ResourceNotFound",
            self.sm.create_app,
            DomainId="d-none",
            SpaceName="lab",
            AppType="JupyterLab",
            AppName="default",
        )
        self.assertError("ResourceNotFound", self.describe, "never")
        self.assertError(
            "ValidationException",
            self.sm.list_apps,
            UserProfileNameEquals="alice",
            SpaceNameEquals="lab",
        )

    def test_owners_with_live_apps_are_not_deleted(self):
        self.app()
        self.assertError("ResourceInUse", self.sm.delete_space, DomainId=self.d, SpaceName="lab")
        self.app(name="canvas", app_type="Canvas", space=None)
        self.assertError(
            "ResourceInUse", self.sm.delete_user_profile, DomainId=self.d, UserProfileName="alice"
        )
        self.sm.delete_app(
            DomainId=self.d, SpaceName="lab", AppType="JupyterLab", AppName="default"
        )
        self.sm.delete_space(DomainId=self.d, SpaceName="lab")
        self.assertEqual(self.sm.list_apps(SpaceNameEquals="lab")["Apps"], [])

    def test_list_filters_sort_and_pages(self):
        self.sm.create_space(DomainId=self.d, SpaceName="other")
        names = [f"a{i:02}" for i in range(12)]
        for name in names:  # a space runs one app at a time: the earlier ones are Deleted
            self.app(name=name)
            self.sm.delete_app(DomainId=self.d, SpaceName="lab", AppType="JupyterLab", AppName=name)
        self.app(name="kg", app_type="KernelGateway", space=None)
        self.app(space="other")
        other = self.domain("second")
        self.sm.create_space(DomainId=other, SpaceName="lab")
        self.sm.create_app(DomainId=other, SpaceName="lab", AppType="JupyterLab", AppName="default")

        first = self.sm.list_apps(DomainIdEquals=self.d, SpaceNameEquals="lab")
        self.assertEqual(
            [a["AppName"] for a in first["Apps"]], names[:10], "10 by default, oldest first"
        )
        self.assertNotIn("LastUserActivityTimestamp", first["Apps"][0])
        self.assertEqual(first["Apps"][0]["ResourceSpec"], JUPYTER_SPEC)
        rest = self.sm.list_apps(
            DomainIdEquals=self.d, SpaceNameEquals="lab", NextToken=first["NextToken"]
        )
        self.assertEqual([a["AppName"] for a in rest["Apps"]], names[10:])
        self.assertNotIn("NextToken", rest)

        pages, token = [], None
        while True:
            page = self.sm.list_apps(
                SpaceNameEquals="lab",
                SortBy="CreationTime",
                SortOrder="Descending",
                MaxResults=5,
                **({"NextToken": token} if token else {}),
            )
            pages.append([a["AppName"] for a in page["Apps"]])
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual([len(p) for p in pages], [5, 5, 3], "both domains' 'lab' spaces")
        flat = [n for p in pages for n in p]
        self.assertEqual(flat[0], "default", "newest first: the second domain's app")
        self.assertEqual(flat[1:], names[::-1])

        by_profile = self.sm.list_apps(UserProfileNameEquals="alice")["Apps"]
        self.assertEqual(
            [(a["AppName"], a["UserProfileName"]) for a in by_profile], [("kg", "alice")]
        )
        self.assertEqual(len(self.sm.list_apps(DomainIdEquals=other)["Apps"]), 1)
        self.assertError("ValidationException", self.sm.list_apps, MaxResults=0)
        self.assertError("ValidationException", self.sm.list_apps, NextToken="not-a-token")

    def test_tags_propagate_from_domain_and_owner_at_creation(self):
        self.sm.add_tags(
            ResourceArn=f"{ARN}:domain/{self.d}",
            Tags=[{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "dev"}],
        )
        self.sm.add_tags(
            ResourceArn=f"{ARN}:user-profile/{self.d}/alice",
            Tags=[{"Key": "owner", "Value": "alice"}, {"Key": "env", "Value": "prod"}],
        )
        arn = self.app(
            name="canvas", app_type="Canvas", space=None, Tags=[{"Key": "env", "Value": "test"}]
        )
        self.assertEqual(
            tags_of(self.sm.list_tags(ResourceArn=arn)),
            {"team": "ml", "owner": "alice", "env": "test"},
        )

        self.sm.add_tags(
            ResourceArn=f"{ARN}:domain/{self.d}", Tags=[{"Key": "cost-center", "Value": "42"}]
        )
        self.assertNotIn(
            "cost-center", tags_of(self.sm.list_tags(ResourceArn=arn)), "not copied to earlier apps"
        )
        later = self.app(name="later", app_type="Canvas", space=None)
        self.assertEqual(tags_of(self.sm.list_tags(ResourceArn=later))["cost-center"], "42")

        space_app = self.app(Tags=[{"Key": "k", "Value": "v"}])
        self.assertEqual(
            tags_of(self.sm.list_tags(ResourceArn=space_app)),
            {"k": "v", "team": "ml", "env": "dev", "cost-center": "42"},
        )

    def test_backdating_activity_and_status_through_reserved_tags(self):
        idle_since = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)
        arn = self.app(
            Tags=[
                {"Key": "emulator:last-user-activity", "Value": str(epoch(idle_since))},
                {"Key": "k", "Value": "v"},
            ]
        )
        self.assertEqual(self.describe()["LastUserActivityTimestamp"], idle_since)
        self.assertEqual(
            tags_of(self.sm.list_tags(ResourceArn=arn)), {"k": "v"}, "reserved tags are not stored"
        )

        later = datetime(2026, 11, 21, 9, 30, tzinfo=timezone.utc)
        self.sm.add_tags(
            ResourceArn=arn,
            Tags=[{"Key": "emulator:last-user-activity", "Value": str(epoch(later))}],
        )
        self.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "emulator:app-status", "Value": "Pending"}])
        app = self.describe()
        self.assertEqual((app["LastUserActivityTimestamp"], app["Status"]), (later, "Pending"))
        self.assertEqual(tags_of(self.sm.list_tags(ResourceArn=arn)), {"k": "v"})

        bad = [{"Key": "emulator:last-user-activity", "Value": "yesterday"}]
        self.assertError("ValidationException", self.sm.add_tags, ResourceArn=arn, Tags=bad)
        self.assertError("ValidationException", self.app, name="other", Tags=bad)
        self.assertError(
            "ValidationException",
            self.sm.add_tags,
            ResourceArn=arn,
            Tags=[{"Key": "emulator:app-status", "Value": "Asleep"}],
        )


class Domains(Case):
    def test_unknown_domain_is_not_found_and_a_domain_in_use_stays(self):
        self.assertError("ResourceNotFound", self.sm.describe_domain, DomainId="d-none")
        self.assertError("ResourceNotFound", self.sm.delete_domain, DomainId="d-none")
        d = self.domain()
        self.sm.create_space(DomainId=d, SpaceName="lab")
        self.assertError("ResourceInUse", self.sm.delete_domain, DomainId=d)
        self.sm.delete_space(DomainId=d, SpaceName="lab")
        self.sm.delete_domain(DomainId=d)
        self.assertError("ResourceNotFound", self.sm.describe_domain, DomainId=d)


class Tags(Case):
    def test_every_kind_is_taggable_and_add_tags_overwrites(self):
        d = self.domain()  # no tags at creation: moto alone answers 500 on this one
        self.sm.create_user_profile(DomainId=d, UserProfileName="alice")
        self.sm.create_space(DomainId=d, SpaceName="lab")
        self.sm.create_app(DomainId=d, SpaceName="lab", AppType="CodeEditor", AppName="default")
        self.sm.create_model(
            ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"}
        )
        arns = [
            f"{ARN}:domain/{d}",
            f"{ARN}:user-profile/{d}/alice",
            f"{ARN}:space/{d}/lab",
            f"{ARN}:app/{d}/lab/codeeditor/default",
            f"{ARN}:model/m",
        ]
        for arn in arns:
            with self.subTest(arn=arn):
                self.assertEqual(self.sm.list_tags(ResourceArn=arn)["Tags"], [])
                self.sm.add_tags(
                    ResourceArn=arn,
                    Tags=[{"Key": "AutoShutdown", "Value": "false"}, {"Key": "a", "Value": "1"}],
                )
                self.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "AutoShutdown", "Value": "true"}])
                self.assertEqual(
                    self.sm.list_tags(ResourceArn=arn)["Tags"],
                    [{"Key": "AutoShutdown", "Value": "true"}, {"Key": "a", "Value": "1"}],
                )
                self.sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
                self.assertEqual(
                    tags_of(self.sm.list_tags(ResourceArn=arn)), {"AutoShutdown": "true"}
                )

    def test_unknown_resources_are_validation_errors(self):
        d = self.domain()
        for arn in (
            f"{ARN}:domain/d-none",
            f"{ARN}:user-profile/{d}/nobody",
            f"{ARN}:space/{d}/none",
            f"{ARN}:app/{d}/lab/jupyterlab/default",
            f"{ARN}:no-such-kind/x",
            f"{ARN}:model/a/b/c",
        ):
            with self.subTest(arn=arn):
                self.assertError("ValidationException", self.sm.list_tags, ResourceArn=arn)
                self.assertError(
                    "ValidationException",
                    self.sm.add_tags,
                    ResourceArn=arn,
                    Tags=[{"Key": "k", "Value": "v"}],
                )

    def test_tagging_api_lists_studio_resources(self):
        d = self.domain(tags=[{"Key": "team", "Value": "ml"}])
        self.sm.create_user_profile(
            DomainId=d, UserProfileName="alice", Tags=[{"Key": "owner", "Value": "alice"}]
        )
        self.sm.create_space(
            DomainId=d, SpaceName="lab", Tags=[{"Key": "AutoShutdown", "Value": "true"}]
        )
        self.sm.create_app(DomainId=d, SpaceName="lab", AppType="JupyterLab", AppName="gone")
        self.sm.delete_app(DomainId=d, SpaceName="lab", AppType="JupyterLab", AppName="gone")
        self.sm.create_app(DomainId=d, SpaceName="lab", AppType="JupyterLab", AppName="default")
        tagging = client("resourcegroupstaggingapi")

        def listed(*types, **kwargs):
            found = tagging.get_resources(ResourceTypeFilters=list(types), **kwargs)[
                "ResourceTagMappingList"
            ]
            return {r["ResourceARN"]: tags_of(r) for r in found}

        self.assertEqual(listed("sagemaker:domain"), {f"{ARN}:domain/{d}": {"team": "ml"}})
        self.assertEqual(
            listed("sagemaker:user-profile"), {f"{ARN}:user-profile/{d}/alice": {"owner": "alice"}}
        )
        self.assertEqual(
            listed("sagemaker:space"), {f"{ARN}:space/{d}/lab": {"AutoShutdown": "true"}}
        )
        self.assertEqual(
            listed("sagemaker:app"),
            {f"{ARN}:app/{d}/lab/jupyterlab/default": {"team": "ml", "AutoShutdown": "true"}},
            "live apps only, with the tags they got at creation",
        )
        tagged = listed(
            "sagemaker:space",
            "sagemaker:app",
            TagFilters=[{"Key": "AutoShutdown", "Values": ["true"]}],
        )
        self.assertEqual(len(tagged), 2)

        tagging.tag_resources(
            ResourceARNList=[f"{ARN}:space/{d}/lab"], Tags={"AutoShutdown": "false"}
        )
        self.assertEqual(
            listed("sagemaker:space")[f"{ARN}:space/{d}/lab"], {"AutoShutdown": "false"}
        )


class Reset(Case):
    def test_reset_clears_studio_and_monitoring(self):
        d = self.domain()
        self.sm.create_user_profile(DomainId=d, UserProfileName="alice")
        self.sm.create_space(DomainId=d, SpaceName="lab")
        self.sm.create_app(DomainId=d, SpaceName="lab", AppType="JupyterLab", AppName="default")
        self.sm.create_monitoring_schedule(
            MonitoringScheduleName="dq", MonitoringScheduleConfig=schedule_config("fraud")
        )
        reset()
        self.assertEqual(self.sm.list_user_profiles()["UserProfiles"], [])
        self.assertEqual(self.sm.list_spaces()["Spaces"], [])
        self.assertEqual(self.sm.list_apps()["Apps"], [])
        self.assertEqual(self.sm.list_monitoring_schedules()["MonitoringScheduleSummaries"], [])
        d = self.domain()
        self.sm.create_user_profile(DomainId=d, UserProfileName="alice")  # no ResourceInUse


def schedule_config(endpoint, bucket="reports"):
    return {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringType": "DataQuality",
        "MonitoringJobDefinition": {
            "MonitoringInputs": [
                {
                    "EndpointInput": {
                        "EndpointName": endpoint,
                        "LocalPath": "/opt/ml/processing/input",
                    }
                }
            ],
            "MonitoringOutputConfig": {
                "MonitoringOutputs": [
                    {
                        "S3Output": {
                            "S3Uri": f"s3://{bucket}/{endpoint}",
                            "LocalPath": "/opt/ml/processing/output",
                        }
                    }
                ]
            },
            "MonitoringResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 20,
                }
            },
            "MonitoringAppSpecification": {"ImageUri": "monitor-image"},
            "RoleArn": ROLE,
        },
    }


class Monitoring(Case):
    HOUR = 3600
    ALARM_AT = epoch(datetime(2026, 11, 20, 18, 4, 12, tzinfo=timezone.utc))

    def execution(
        self, job, schedule, status=None, hours_before_alarm=1, endpoint=None, output=None
    ):
        """A processing job seeded as an execution of `schedule`, as a seed script would."""
        tags = [
            {"Key": "emulator:monitoring-schedule", "Value": schedule},
            {"Key": "team", "Value": "ml"},
        ]
        tags.append(
            {
                "Key": "emulator:scheduled-time",
                "Value": str(self.ALARM_AT - self.HOUR * hours_before_alarm),
            }
        )
        if status:
            tags.append({"Key": "emulator:execution-status", "Value": status})
        if endpoint:
            tags.append({"Key": "emulator:endpoint", "Value": endpoint})
        output = output or f"s3://reports/fraud/{schedule}/{job}"
        return self.sm.create_processing_job(
            ProcessingJobName=job,
            ProcessingResources={
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 20,
                }
            },
            AppSpecification={"ImageUri": "monitor-image"},
            RoleArn=ROLE,
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": "result",
                        "S3Output": {
                            "S3Uri": output,
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            Tags=tags,
        )["ProcessingJobArn"]

    def test_schedules(self):
        arn = self.sm.create_monitoring_schedule(
            MonitoringScheduleName="fraud-dq",
            MonitoringScheduleConfig=schedule_config("fraud"),
            Tags=[{"Key": "team", "Value": "ml"}],
        )["MonitoringScheduleArn"]
        self.assertEqual(arn, f"{ARN}:monitoring-schedule/fraud-dq")
        described = self.sm.describe_monitoring_schedule(MonitoringScheduleName="fraud-dq")
        self.assertEqual(described["MonitoringScheduleConfig"], schedule_config("fraud"))
        self.assertEqual(
            (
                described["EndpointName"],
                described["MonitoringType"],
                described["MonitoringScheduleStatus"],
            ),
            ("fraud", "DataQuality", "Scheduled"),
        )
        self.assertNotIn("LastMonitoringExecutionSummary", described)
        self.assertError(
            "ResourceInUse",
            self.sm.create_monitoring_schedule,
            MonitoringScheduleName="fraud-dq",
            MonitoringScheduleConfig=schedule_config("fraud"),
        )
        self.assertError(
            "ResourceNotFound", self.sm.describe_monitoring_schedule, MonitoringScheduleName="nope"
        )

        self.sm.create_data_quality_job_definition(
            JobDefinitionName="churn-dq-def",
            DataQualityAppSpecification={"ImageUri": "monitor-image"},
            DataQualityJobInput={
                "EndpointInput": {"EndpointName": "churn", "LocalPath": "/opt/ml/processing/input"}
            },
            DataQualityJobOutputConfig={
                "MonitoringOutputs": [
                    {
                        "S3Output": {
                            "S3Uri": "s3://reports/churn",
                            "LocalPath": "/opt/ml/processing/output",
                        }
                    }
                ]
            },
            JobResources={
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 20,
                }
            },
            RoleArn=ROLE,
        )
        self.sm.create_monitoring_schedule(
            MonitoringScheduleName="churn-dq",
            MonitoringScheduleConfig={
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringJobDefinitionName": "churn-dq-def",
                "MonitoringType": "DataQuality",
            },
        )
        by_endpoint = self.sm.list_monitoring_schedules(EndpointName="churn")[
            "MonitoringScheduleSummaries"
        ]
        self.assertEqual(
            [(s["MonitoringScheduleName"], s["MonitoringJobDefinitionName"]) for s in by_endpoint],
            [("churn-dq", "churn-dq-def")],
        )
        newest_first = self.sm.list_monitoring_schedules()["MonitoringScheduleSummaries"]
        self.assertEqual(
            [s["MonitoringScheduleName"] for s in newest_first], ["churn-dq", "fraud-dq"]
        )
        self.assertEqual(tags_of(self.sm.list_tags(ResourceArn=arn)), {"team": "ml"})
        tagging = client("resourcegroupstaggingapi")
        found = tagging.get_resources(ResourceTypeFilters=["sagemaker:monitoring-schedule"])
        self.assertEqual([r["ResourceARN"] for r in found["ResourceTagMappingList"]], [arn])

        self.sm.delete_monitoring_schedule(MonitoringScheduleName="fraud-dq")
        self.assertError(
            "ResourceNotFound",
            self.sm.describe_monitoring_schedule,
            MonitoringScheduleName="fraud-dq",
        )

    def test_executions_as_the_retrainer_lists_them(self):
        self.sm.create_monitoring_schedule(
            MonitoringScheduleName="fraud-dq", MonitoringScheduleConfig=schedule_config("fraud")
        )
        self.sm.create_monitoring_schedule(
            MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=schedule_config("churn")
        )
        self.execution("older", "fraud-dq", hours_before_alarm=2)
        violated = self.execution(
            "violated", "fraud-dq", "CompletedWithViolations", hours_before_alarm=1
        )
        self.execution("failed", "fraud-dq", "Failed", hours_before_alarm=0.5)
        self.execution("at-alarm", "fraud-dq", hours_before_alarm=0)  # not before it
        self.execution("after-alarm", "fraud-dq", hours_before_alarm=-1)
        self.execution("churn", "churn-dq", hours_before_alarm=1)
        self.sm.create_processing_job(
            ProcessingJobName="plain",
            ProcessingResources={},
            AppSpecification={"ImageUri": "i"},
            RoleArn=ROLE,
        )

        # The call shared/src/sagemaker/monitoring.rs makes.
        listed = self.sm.list_monitoring_executions(
            MonitoringScheduleName="fraud-dq",
            EndpointName="fraud",
            ScheduledTimeBefore=datetime.fromtimestamp(self.ALARM_AT, timezone.utc),
            SortBy="ScheduledTime",
            SortOrder="Descending",
            MaxResults=10,
        )["MonitoringExecutionSummaries"]
        self.assertEqual(
            [
                (e["ProcessingJobArn"].rsplit("/", 1)[1], e["MonitoringExecutionStatus"])
                for e in listed
            ],
            [("failed", "Failed"), ("violated", "CompletedWithViolations"), ("older", "Completed")],
        )
        second = listed[1]
        self.assertEqual(second["ProcessingJobArn"], violated)
        self.assertEqual(
            second["ScheduledTime"], datetime.fromtimestamp(self.ALARM_AT - self.HOUR, timezone.utc)
        )
        self.assertEqual(
            (second["MonitoringScheduleName"], second["EndpointName"], second["MonitoringType"]),
            ("fraud-dq", "fraud", "DataQuality"),
        )

        job = self.sm.describe_processing_job(ProcessingJobName="violated")
        self.assertEqual(
            job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"],
            "s3://reports/fraud/fraud-dq/violated",
        )
        self.assertEqual(job["ProcessingJobStatus"], "Completed")
        self.assertEqual(
            self.sm.describe_processing_job(ProcessingJobName="failed")["ProcessingJobStatus"],
            "Failed",
        )
        self.assertEqual(
            tags_of(self.sm.list_tags(ResourceArn=violated)),
            {"team": "ml"},
            "reserved tags consumed",
        )

        by_endpoint = self.sm.list_monitoring_executions(EndpointName="churn")[
            "MonitoringExecutionSummaries"
        ]
        self.assertEqual([e["ProcessingJobArn"].rsplit("/", 1)[1] for e in by_endpoint], ["churn"])
        self.assertEqual(
            len(self.sm.list_monitoring_executions()["MonitoringExecutionSummaries"]),
            6,
            "not the plain job",
        )
        only_violations = self.sm.list_monitoring_executions(
            StatusEquals="CompletedWithViolations"
        )["MonitoringExecutionSummaries"]
        self.assertEqual([e["ProcessingJobArn"] for e in only_violations], [violated])
        ascending = self.sm.list_monitoring_executions(
            MonitoringScheduleName="fraud-dq", SortBy="ScheduledTime", SortOrder="Ascending"
        )
        self.assertEqual(
            ascending["MonitoringExecutionSummaries"][0]["ProcessingJobArn"].rsplit("/", 1)[1],
            "older",
        )

        first = self.sm.list_monitoring_executions(
            MonitoringScheduleName="fraud-dq", SortBy="ScheduledTime", MaxResults=3
        )
        rest = self.sm.list_monitoring_executions(
            MonitoringScheduleName="fraud-dq",
            SortBy="ScheduledTime",
            MaxResults=3,
            NextToken=first["NextToken"],
        )
        paged = [
            e["ProcessingJobArn"].rsplit("/", 1)[1]
            for e in first["MonitoringExecutionSummaries"] + rest["MonitoringExecutionSummaries"]
        ]
        self.assertEqual(paged, ["after-alarm", "at-alarm", "failed", "violated", "older"])

        last = self.sm.describe_monitoring_schedule(MonitoringScheduleName="fraud-dq")[
            "LastMonitoringExecutionSummary"
        ]
        self.assertEqual(last["ProcessingJobArn"].rsplit("/", 1)[1], "after-alarm")

    def test_endpoint_tag_overrides_and_bad_seeds_create_nothing(self):
        self.sm.create_monitoring_schedule(
            MonitoringScheduleName="fraud-dq", MonitoringScheduleConfig=schedule_config("fraud")
        )
        self.execution("elsewhere", "fraud-dq", endpoint="fraud-v2")
        (listed,) = self.sm.list_monitoring_executions(EndpointName="fraud-v2")[
            "MonitoringExecutionSummaries"
        ]
        self.assertEqual(listed["ProcessingJobArn"].rsplit("/", 1)[1], "elsewhere")

        self.assertError("ValidationException", self.execution, "orphan", "no-such-schedule")
        self.assertError(
            "ValidationException", self.execution, "odd", "fraud-dq", status="Sleeping"
        )
        names = [
            j["ProcessingJobName"] for j in self.sm.list_processing_jobs()["ProcessingJobSummaries"]
        ]
        self.assertEqual(names, ["elsewhere"])


def b64(digest):
    return base64.b64encode(digest).decode()


def sha256(data):
    return b64(hashlib.sha256(data).digest())


def crc32(data):
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def put_aws_chunked(bucket, key, data, trailer_value, algorithm="SHA256", signed=True):
    """PutObject as the Rust SDK sends a streaming body whose checksum it computes itself:
    aws-chunked, the checksum in a trailer after the last chunk; over http the chunks are
    signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER). moto checks no signature, so the
    signatures here are dummies. Returns (status, headers, body)."""
    name = f"x-amz-checksum-{algorithm.lower()}"
    signature = ";chunk-signature=" + "0" * 64 if signed else ""
    chunks = [data[i : i + 8192] for i in range(0, len(data), 8192)]
    encoded = b"".join(f"{len(c):x}{signature}\r\n".encode() + c + b"\r\n" for c in chunks)
    encoded += f"0{signature}\r\n{name}:{trailer_value}\r\n".encode()
    if signed:
        encoded += b"x-amz-trailer-signature:" + b"0" * 64 + b"\r\n"
    encoded += b"\r\n"
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "x-amz-date": "20260101T000000Z",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
        if signed
        else "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": name,
        "x-amz-sdk-checksum-algorithm": algorithm,
        "Content-Length": str(len(encoded)),
    }
    host = URL.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=30)
    try:
        connection.request("PUT", f"/{bucket}/{key}", body=encoded, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


class S3Checksums(Case):
    """s3_checksums.py: PutObject refuses a body that does not match the checksum sent with it."""

    def setUp(self):
        super().setUp()
        self.s3 = client("s3")
        self.s3.create_bucket(Bucket="state")

    def body(self, key):
        return self.s3.get_object(Bucket="state", Key=key)["Body"].read()

    def test_right_sha256_is_stored_and_echoed(self):
        data = b'{"lease": "holder-1"}'
        out = self.s3.put_object(
            Bucket="state",
            Key="lease.json",
            Body=data,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=sha256(data),
        )
        self.assertEqual(out["ChecksumSHA256"], sha256(data))
        self.assertEqual(
            out["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-sha256"], sha256(data)
        )
        self.assertEqual(self.body("lease.json"), data)

    def test_wrong_sha256_is_refused_and_nothing_is_stored(self):
        self.s3.put_bucket_versioning(
            Bucket="state", VersioningConfiguration={"Status": "Enabled"}
        )
        self.s3.put_object(Bucket="state", Key="lease.json", Body=b"v1")
        refused = self.assertError(
            "BadDigest",
            self.s3.put_object,
            Bucket="state",
            Key="lease.json",
            Body=b"v2",
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=sha256(b"v2, as meant"),
        )
        self.assertEqual(refused.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(
            refused.response["Error"]["Message"],
            "The SHA256 you specified did not match the calculated checksum.",
        )
        self.assertEqual(self.body("lease.json"), b"v1")
        versions = self.s3.list_object_versions(Bucket="state")["Versions"]
        self.assertEqual(len(versions), 1)

        self.assertError(
            "BadDigest",
            self.s3.put_object,
            Bucket="state",
            Key="new.json",
            Body=b"new",
            ChecksumSHA256=sha256(b"other"),
        )
        self.assertError("404", self.s3.head_object, Bucket="state", Key="new.json")

    def test_no_checksum_is_stored_as_before(self):
        plain = boto3.client(
            "s3",
            endpoint_url=URL,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(
                retries={"max_attempts": 1}, request_checksum_calculation="when_required"
            ),
        )
        plain.put_object(Bucket="state", Key="plain.txt", Body=b"old")
        out = plain.put_object(Bucket="state", Key="plain.txt", Body=b"plain")
        sent = out["ResponseMetadata"]["HTTPHeaders"]
        self.assertFalse([h for h in sent if h.startswith("x-amz-checksum-")], sent)
        self.assertEqual(self.body("plain.txt"), b"plain")

    def test_crc32_the_sdks_send_by_default(self):
        out = self.s3.put_object(Bucket="state", Key="a.txt", Body=b"abc")  # boto3 adds CRC32
        self.assertEqual(out["ChecksumCRC32"], crc32(b"abc"))
        self.assertEqual(self.body("a.txt"), b"abc")
        refused = self.assertError(
            "BadDigest",
            self.s3.put_object,
            Bucket="state",
            Key="a.txt",
            Body=b"abd",
            ChecksumAlgorithm="CRC32",
            ChecksumCRC32=crc32(b"abc"),
        )
        self.assertEqual(
            refused.response["Error"]["Message"],
            "The CRC32 you specified did not match the calculated checksum.",
        )
        self.assertEqual(self.body("a.txt"), b"abc")

    def test_malformed_value_is_invalid_request(self):
        self.s3.put_object(Bucket="state", Key="a.txt", Body=b"abc")
        for value in ("not base64!", b64(b"too short")):
            refused = self.assertError(
                "InvalidRequest",
                self.s3.put_object,
                Bucket="state",
                Key="a.txt",
                Body=b"xyz",
                ChecksumSHA256=value,
            )
            self.assertEqual(
                refused.response["Error"]["Message"],
                "Value for x-amz-checksum-sha256 header is invalid.",
            )
        self.assertEqual(self.body("a.txt"), b"abc")

    def test_aws_chunked_trailer_is_checked_against_the_decoded_body(self):
        data = bytes(range(256)) * 40  # two chunks
        for signed in (True, False):
            with self.subTest(signed=signed):
                key = f"chunked-{signed}.bin"
                status, headers, _ = put_aws_chunked(
                    "state", key, data, sha256(data), signed=signed
                )
                self.assertEqual(status, 200)
                self.assertEqual(headers["x-amz-checksum-sha256"], sha256(data))
                self.assertEqual(self.body(key), data)

                status, _, error = put_aws_chunked(
                    "state", key, b"other" + data, sha256(data), signed=signed
                )
                self.assertEqual(status, 400)
                self.assertIn(b"<Code>BadDigest</Code>", error)
                self.assertIn(b"The SHA256 you specified did not match", error)
                self.assertEqual(self.body(key), data)

                # the SDK's default algorithm, in a trailer
                status, _, _ = put_aws_chunked(
                    "state", key, data, crc32(data), algorithm="CRC32", signed=signed
                )
                self.assertEqual(status, 200)
                status, _, error = put_aws_chunked(
                    "state", key, b"x", crc32(data), algorithm="CRC32", signed=signed
                )
                self.assertEqual(status, 400)
                self.assertIn(b"<Code>BadDigest</Code>", error)
                self.assertEqual(self.body(key), data)

        status, _, error = put_aws_chunked("state", "never.bin", data, sha256(b"x"))
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>BadDigest</Code>", error)
        self.assertError("404", self.s3.head_object, Bucket="state", Key="never.bin")


if __name__ == "__main__":
    unittest.main()
