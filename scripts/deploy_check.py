#!/usr/bin/env python3
"""Checks, through the AWS APIs of the emulator, what `cdk deploy -c env=local` created — or that
`cdk destroy` removed it. Usage: deploy_check.py deployed|destroyed [STACK]   (AWS_ENDPOINT_URL is set)
deploy_check.py target-deployed|target-destroyed ACCOUNT: the target stack in that account (its role).

The emulator's CloudFormation (moto 5.2.5) skips some resource types with a warning instead of creating
them: CloudWatch alarms, Lambda EventInvokeConfig, log metric filters, SQS queue and SNS topic policies.
Those are checked in the template CloudFormation holds for the stack (GetTemplate); everything else is
checked as a live resource."""
import json
import os
import sys

import boto3

STACK = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].isdigit() else "SsmReplicator-local"
REGION = "us-east-1"
TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "infra", "cdk.out", f"{STACK}.template.json")


def client(service, account=None, region=REGION):
    """A client of this account, or of `account` (credentials from the emulator's AssumeRole)."""
    if account is None:
        return boto3.client(service, region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    creds = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/deploy-check",
                                      RoleSessionName="deploy-check")["Credentials"]
    return boto3.client(service, region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def fail(message):
    print(f"deploy check: {message}", file=sys.stderr)
    sys.exit(1)


def stack_resources():
    cfn = client("cloudformation")
    try:
        stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    except cfn.exceptions.ClientError:
        return None, {}
    resources = cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    by_type = {}
    for r in resources:
        by_type.setdefault(r["ResourceType"], []).append(r["PhysicalResourceId"])
    return stack["StackStatus"], by_type


def one(by_type, kind, count=1):
    ids = by_type.get(kind, [])
    if len(ids) != count:
        fail(f"expected {count} {kind}, the stack has {len(ids)}")
    return ids


def deployed():
    status, by_type = stack_resources()
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        fail(f"stack {STACK} is {status}")
    template = json.load(open(TEMPLATE))
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
                 and r["Properties"].get("Runtime") == "provided.al2023"]
    expected_env = functions[0]["Properties"]["Environment"]["Variables"]

    iam, lam, events, sqs, cw = (client(s) for s in ("iam", "lambda", "events", "sqs", "cloudwatch"))
    # The function, with the environment the template gives it.
    fn_name = [f for f in by_type.get("AWS::Lambda::Function", []) if "Replicator" in f or "replicator" in f.lower()]
    fn_name = fn_name[0] if fn_name else one(by_type, "AWS::Lambda::Function")[0]
    fn = lam.get_function(FunctionName=fn_name)["Configuration"]
    if fn["Environment"]["Variables"] != expected_env:
        fail(f"function environment {fn['Environment']['Variables']} != {expected_env}")
    # (The template's arm64 is asserted by the CDK tests; the emulator's CloudFormation does not pass
    # Architectures on to the function it creates, so it is not checked here.)
    if fn["Runtime"] != "provided.al2023":
        fail(f"function runtime is {fn['Runtime']}")
    # Its role and the inline policy with the replicator's statements.
    role_name = fn["Role"].rsplit("/", 1)[-1]
    iam.get_role(RoleName=role_name)
    sids = set()
    for policy in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role_name, PolicyName=policy)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        sids |= {s.get("Sid") for s in doc["Statement"]}
    for sid in ("ReadSourceParameters", "WriteReplicas", "ListParameters", "DecryptSourceThroughSsm",
                "HandOffFullSync", "AssumeTargetRoles"):
        if sid not in sids:
            fail(f"role {role_name} lacks statement {sid} (has {sorted(s for s in sids if s)})")
    # The rules (change, tag change, batch delete; label removals when labels are replicated) and the
    # schedule, as many as synthesized, each targeting the function.
    synthesized_rules = sum(1 for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule")
    if synthesized_rules < 4:
        fail(f"the synthesized template has {synthesized_rules} AWS::Events::Rule, expected at least 4")
    rules = one(by_type, "AWS::Events::Rule", synthesized_rules)
    for rule in rules:
        name = rule.split("|")[-1].rsplit("/", 1)[-1]
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        if [t["Arn"] for t in targets] != [fn["FunctionArn"]]:
            fail(f"rule {name} targets {[t['Arn'] for t in targets]}")
    # Dead-letter queues, the alarm topic, the dashboard.
    for url in one(by_type, "AWS::SQS::Queue", 2):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    topic = one(by_type, "AWS::SNS::Topic")[0]
    client("sns").get_topic_attributes(TopicArn=topic)
    dashboard = one(by_type, "AWS::CloudWatch::Dashboard")[0]
    cw.get_dashboard(DashboardName=dashboard)
    # What the emulator does not create live: present in the stack's deployed template.
    body = client("cloudformation").get_template(StackName=STACK)["TemplateBody"]
    body = json.loads(body) if isinstance(body, str) else body
    kinds = [r["Type"] for r in body["Resources"].values()]
    for kind, count in [("AWS::CloudWatch::Alarm", 7), ("AWS::Lambda::EventInvokeConfig", 1),
                        ("AWS::Logs::MetricFilter", 1), ("AWS::SQS::QueuePolicy", 2)]:
        if kinds.count(kind) != count:
            fail(f"the deployed template has {kinds.count(kind)} {kind}, expected {count}")
    print(f"deploy check: {STACK} deployed — function {fn_name} (environment as synthesized), role with "
          f"{len(sids)} statements, {len(rules)} rules targeting it, 2 dead-letter queues, alarm topic, dashboard; "
          f"7 alarms, the async-invoke settings, 1 metric filter and 2 queue policies in the deployed "
          f"template (the emulator's CloudFormation does not create those types)")
    json.dump({"function": fn_name, "role": role_name, "rules": rules, "topic": topic, "dashboard": dashboard,
               "queues": by_type["AWS::SQS::Queue"]}, open("/tmp/ssm-replicator-deployed.json", "w"))


def destroyed():
    status, _ = stack_resources()
    if status not in (None, "DELETE_COMPLETE"):
        fail(f"stack {STACK} still exists ({status})")
    seen = json.load(open("/tmp/ssm-replicator-deployed.json"))
    lam, events, cw, iam, sqs = (client(s) for s in ("lambda", "events", "cloudwatch", "iam", "sqs"))
    left = []
    try:
        lam.get_function(FunctionName=seen["function"])
        left.append("function")
    except lam.exceptions.ResourceNotFoundException:
        pass
    try:
        iam.get_role(RoleName=seen["role"])
        left.append("role")
    except iam.exceptions.NoSuchEntityException:
        pass
    names = {r["Name"] for r in events.list_rules()["Rules"]}
    left += [r for r in seen["rules"] if r.split("|")[-1].rsplit("/", 1)[-1] in names]
    if seen["topic"] in [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]:
        left.append("topic")
    if seen["dashboard"] in [d["DashboardName"] for d in cw.list_dashboards().get("DashboardEntries", [])]:
        left.append("dashboard")
    urls = sqs.list_queues().get("QueueUrls", [])
    left += [q for q in seen["queues"] if q in urls]
    if left:
        fail(f"left behind after destroy: {left}")
    print(f"deploy check: {STACK} destroyed — function, role, rules, queues, topic and dashboard are gone")


def target_role(account):
    """The target stack's role in `account`: (its name, its trust policy), or None."""
    stack = f"SsmReplicatorTarget-local-{account}"
    # Target stacks live in the source region of their account.
    cfn = client("cloudformation", account, REGION)
    try:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except cfn.exceptions.ClientError:
        return stack, None
    if status == "DELETE_COMPLETE":
        return stack, None
    roles = [r["PhysicalResourceId"] for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
             if r["ResourceType"] == "AWS::IAM::Role"]
    if len(roles) != 1:
        fail(f"{stack} holds {len(roles)} roles, expected 1")
    role = client("iam", account).get_role(RoleName=roles[0])["Role"]
    return stack, role


def target_deployed(account):
    stack, role = target_role(account)
    if role is None:
        fail(f"{stack} is not deployed in {account}")
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    text = json.dumps(trust)
    if "123456789012" not in text or "aws:PrincipalArn" not in text:
        fail(f"the role {role['RoleName']} in {account} does not trust the replicator's role: {text}")
    print(f"deploy check: {stack} deployed — role {role['Arn']}, trusted by the replicator's role in 123456789012")


def target_destroyed(account):
    stack, role = target_role(account)
    if role is not None:
        fail(f"{stack} still holds {role['Arn']}")
    print(f"deploy check: {stack} destroyed — its role is gone from {account}")


if __name__ == "__main__":
    actions = {"deployed": deployed, "destroyed": destroyed}
    if sys.argv[1] in ("target-deployed", "target-destroyed"):
        {"target-deployed": target_deployed, "target-destroyed": target_destroyed}[sys.argv[1]](sys.argv[2])
    else:
        actions[sys.argv[1]]()
