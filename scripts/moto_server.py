#!/usr/bin/env python3
"""The AWS API emulator (moto server) with ten corrections towards AWS behaviour.

1. moto 5.2.5 returns DescribeParameters in pages of 10 whatever MaxResults says; AWS honours MaxResults
   (1-50). ssm-replicator's call budgets depend on 50-result pages, so DescribeParameters honours
   MaxResults the way AWS documents it (default 10 when absent, as moto had it), and answers a
   NextToken it did not issue with InvalidNextToken (HTTP 400), as AWS does, not with HTTP 500.
2. moto routes every PutEvents event to schedule-only rules (a rule without a pattern matches all);
   on AWS a schedule rule is never matched by an event. Here it is not either.
3. moto raises NotImplementedError (HTTP 500 for the whole PutEvents) when a matched rule has a Lambda
   target: it cannot run the function. Here a Lambda target is skipped, and the rule's other targets
   (the demo's queue) still receive the event.
4. moto's default target input leaves out the event's `account`; AWS delivers the whole event. Here the
   default input carries it.
5. moto stores PutParameter's Policies "[{}]" as one empty policy; AWS documents it as the way to remove
   every policy ("To remove all policies from an existing parameter, ... apply an empty policy ...: [{}]",
   https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policies.html). Here it
   removes them.
6. moto's CloudFormation creates an AWS::KMS::Key by handing the template's Tags (`Key`/`Value`, as
   CloudFormation writes them) to KMS's tagger, which expects `TagKey`/`TagValue`, and fails the whole
   deployment with KeyError. Here the tags are converted first, as CloudFormation does.
7. moto pages a GetResources that names its resources (ResourceARNList) like a listing (50 resources, 100 tags
   per page) and returns a PaginationToken; AWS does not let an ARN list be combined with any pagination
   parameter, PaginationToken included ("You can't specify both this parameter and any of the pagination
   parameters (ResourcesPerPage, TagsPerPage, PaginationToken) in the same request",
   https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html), so such a
   request is answered whole (at most 100 ARNs). Here it is too; listings without an ARN list page as before.
8. moto's ReplicateSecretToRegions ignores each replica region's KmsKeyId: every replica reports
   `alias/aws/secretsmanager` and is InSync, whatever key was asked for. On AWS the replica is encrypted with
   that key ("If you don't include this field, Secrets Manager uses aws/secretsmanager",
   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicaRegionType.html), and a key
   that cannot be used there fails that region's replica while the call itself succeeds (Status Failed
   with a StatusMessage; "AWS::SecretsManager::Secret silently fails Replica Secret when invalid KMS Key
   specified", aws-cloudformation/cloudformation-coverage-roadmap#1459). Here the replica keeps the key it
   was given, and a key that does not exist or is not enabled in that region of that account fails it,
   with no replica created. AWS does not document the message's text; this one names the key and region.
9. moto names a PrimaryRegion only on replicas; AWS names it on every secret, the primary's own region on
   a primary ("PrimaryRegion": "us-west-2" for the us-west-2 primary in the describe-secret example,
   https://docs.aws.amazon.com/cli/latest/reference/secretsmanager/describe-secret.html; DescribeSecret:
   "PrimaryRegion: The Region the secret is in"). Here DescribeSecret and ListSecrets name it on primaries too,
   so a client that took "has a PrimaryRegion" for "is a replica" fails here as it would on AWS.
10. moto's server answers requests on many threads without locking its stores: a DescribeParameters that
   goes through a region's parameters while another request adds one fails with HTTP 500 ("dictionary
   changed size during iteration"); AWS answers both. Here requests are answered one at a time.
Nothing else changes. The AWS behaviours that concern what a client must cope with (empty pages,
listing lag, limits, rejected type changes, missing keys) are reproduced by the integration tests'
AWS-behaviour proxy instead (function/tests/integration/aws_behaviour.rs).
Usage: moto_server.py -H 127.0.0.1 -p PORT   (the same arguments as moto_server)
"""
import copy
import json
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.kms.models import Key
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.kms.models import kms_backends
from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend
from moto.secretsmanager.models import FakeSecret, ReplicaSecret
from moto.server import main
from moto.ssm.exceptions import SSMException
from moto.ssm.models import SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse


class InvalidNextToken(SSMException):
    def __init__(self) -> None:
        super().__init__("InvalidNextToken", "The specified token isn't valid.")


def describe_parameters(self: SimpleSystemManagerResponse) -> ActionResult:
    page_size = max(1, min(50, int(self._get_param("MaxResults") or 10)))
    token = self._get_param("NextToken")
    try:
        token = int(token.strip()) if hasattr(token, "strip") and token.strip() else 0
    except ValueError:
        raise InvalidNextToken() from None
    result = self.ssm_backend.describe_parameters(self._get_param("Filters"), self._get_param("ParameterFilters"))
    page = result[token:token + page_size]
    response: dict[str, Any] = {"Parameters": [p.describe_response_object(False) for p in page]}
    if token + page_size < len(result):
        response["NextToken"] = str(token + page_size)
    return ActionResult(response)


SimpleSystemManagerResponse.describe_parameters = describe_parameters

_put_parameter = SimpleSystemManagerBackend.put_parameter


def put_parameter(self: SimpleSystemManagerBackend, *args: Any, policies: str | None = None, **kwargs: Any) -> Any:
    try:
        empty = policies is not None and json.loads(policies) == [{}]
    except ValueError:
        empty = False  # moto reports its own error for unreadable policies
    if empty:
        policies = "[]"  # kept as "no policies", not None (None keeps the previous version's)
    return _put_parameter(self, *args, policies=policies, **kwargs)


SimpleSystemManagerBackend.put_parameter = put_parameter

_send_to_targets = Rule.send_to_targets


def send_to_targets(self: Rule, event: Any, transform_input: bool = True) -> None:
    if self.scheduled_expression and not self.event_pattern.get_pattern():
        return
    routable = copy.copy(self)
    routable.targets = [t for t in self.targets if ":lambda:" not in t["Arn"]]
    _send_to_targets(routable, event, transform_input)


Rule.send_to_targets = send_to_targets
EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE.replace(
    '"version": "0",', '"version": "0", "account": "<account>",')
assert '"account"' in EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE

_create_key_from_cloudformation = Key.create_from_cloudformation_json.__func__


def create_key_from_cloudformation(cls: type, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any) -> Any:
    template = copy.deepcopy(cloudformation_json)
    properties = template.get("Properties", {})
    properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} if "Key" in t else t
                          for t in properties.get("Tags", [])]
    return _create_key_from_cloudformation(cls, resource_name, template, *args, **kwargs)


Key.create_from_cloudformation_json = classmethod(create_key_from_cloudformation)

_get_resources = ResourceGroupsTaggingAPIBackend.get_resources


def get_resources(self: ResourceGroupsTaggingAPIBackend, *args: Any, **kwargs: Any) -> Any:
    if kwargs.get("resource_arn_list") and not kwargs.get("pagination_token"):
        kwargs["resources_per_page"] = len(kwargs["resource_arn_list"])
        kwargs["tags_per_page"] = 10 ** 9  # every tag of every named resource in the one answer
    return _get_resources(self, *args, **kwargs)


ResourceGroupsTaggingAPIBackend.get_resources = get_resources

_create_replicas = FakeSecret.create_replicas
DEFAULT_SECRETS_KEY = "alias/aws/secretsmanager"


def _usable_key(account: str, region: str, key_id: str) -> bool:
    backend = kms_backends[account][region]
    try:
        return backend.describe_key(key_id).key_state == "Enabled"
    except Exception:  # an unknown id or alias: moto raises KeyError or its NotFoundException
        return False


def create_replicas(self: FakeSecret, replica_regions: list[dict[str, str]], force_overwrite: bool) -> list[Any]:
    usable, failed = [], []
    for config in replica_regions or []:
        key = config.get("KmsKeyId")
        if key and key != DEFAULT_SECRETS_KEY and not _usable_key(self.account_id, config["Region"], key):
            failed.append(config)
        else:
            usable.append(config)
    replicas = _create_replicas(self, usable, force_overwrite)
    for replica, config in zip(replicas, usable):
        replica.config["KmsKeyId"] = config.get("KmsKeyId") or DEFAULT_SECRETS_KEY
    for config in failed:
        message = f"Replication failed: KMS key {config['KmsKeyId']} is not usable in {config['Region']}."
        replica = ReplicaSecret(self, config["Region"], "Failed", message)
        replica.config["KmsKeyId"] = config["KmsKeyId"]
        replicas.append(replica)
    return replicas


FakeSecret.create_replicas = create_replicas

_secret_to_dict = FakeSecret.to_dict


def secret_to_dict(self: FakeSecret) -> dict[str, Any]:
    return {"PrimaryRegion": self.region, **_secret_to_dict(self)}


FakeSecret.to_dict = secret_to_dict

_dispatch = DomainDispatcherApplication.__call__
_one_at_a_time = threading.Lock()


def dispatch(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
    with _one_at_a_time:
        return list(_dispatch(self, environ, start_response))


DomainDispatcherApplication.__call__ = dispatch

if __name__ == "__main__":
    main()
