"""System tags (`aws:` keys) as AWS keeps them: set by AWS, never by a client.

Real CloudFormation tags every resource it creates with `aws:cloudformation:stack-name`,
`aws:cloudformation:stack-id` and `aws:cloudformation:logical-id`, and no client may add,
change or remove a key under `aws:`: S3 PutBucketTagging answers InvalidTag for a tag set
that contains one (moto already does), and the Resource Groups Tagging API's TagResources
answers InvalidParameterException. moto 5.2.5 adds the CloudFormation tags to EC2 resources
only, and accepts `aws:` keys in TagResources. Here, buckets a stack creates get the three
tags, and TagResources refuses `aws:` keys, so code that writes a bucket's whole tag set back
fails on a CloudFormation bucket as it does on AWS.
"""

from moto.cloudformation.parsing import ResourceMap
from moto.resourcegroupstaggingapi.exceptions import ResourceGroupsTaggingAPIError
from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse
from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition

SYSTEM_PREFIX = "aws:"


def _tag_stack_buckets(resources: ResourceMap) -> None:
    stack_tags = {
        "aws:cloudformation:stack-name": resources["AWS::StackName"],
        "aws:cloudformation:stack-id": resources["AWS::StackId"],
    }
    backend = s3_backends[resources._account_id][get_partition(resources._region_name)]
    for logical_id, resource in list(resources._parsed_resources.items()):
        if isinstance(resource, FakeBucket):
            tags = {**stack_tags, "aws:cloudformation:logical-id": logical_id}
            backend.tagger.tag_resource(
                resource.arn, [{"Key": k, "Value": v} for k, v in tags.items()]
            )


def install() -> None:
    original_create = ResourceMap.create

    def create(self, template):  # type: ignore[no-untyped-def]
        ready = original_create(self, template)
        _tag_stack_buckets(self)
        return ready

    ResourceMap.create = create

    original_tag_resources = ResourceGroupsTaggingAPIResponse.tag_resources

    def tag_resources(self):  # type: ignore[no-untyped-def]
        tags = self._get_param("Tags", {}) or {}
        if any(key.lower().startswith(SYSTEM_PREFIX) for key in tags):
            raise ResourceGroupsTaggingAPIError(
                "InvalidParameterException",
                "Tag keys beginning with aws: are reserved for AWS use",
            )
        return original_tag_resources(self)

    ResourceGroupsTaggingAPIResponse.tag_resources = tag_resources
