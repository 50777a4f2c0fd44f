#!/usr/bin/env python3
"""`make demo`: the whole pipeline, locally. scripts/demo.sh has deployed the real stack (ENV=local) into
the AWS API emulator (moto server on :5000); this script
  - reads back what was deployed: the function's environment (Lambda GetFunctionConfiguration) and the
    rules with their targets (EventBridge DescribeRule / ListTargetsByRule);
  - runs the real ssm-replicator-lambda under cargo-lambda's runtime emulator with that environment;
  - publishes each event with PutEvents to the emulator's default bus, where the deployed rules' patterns
    route it; a queue attached to each rule as an extra target receives what the rule routed, and only
    that is handed to the function (with the rule's name shown). The emulator cannot run Lambda code,
    and has no scheduler: the scheduled full sync is fired by the demo with the deployed rule's ARN;
  - prints after each step the function's report and a side-by-side table (SecureString values masked).
One target is in another account (111111111111 in local.json): its target stack (the role the function
assumes there) was deployed into that account first, and its column shows the replicas there.
Exits non-zero, with the reason, when any target does not end up matching the source.
"""
import json
import os
import sys

import boto3

from local_lambda import Function, LocalLambdaError, scheduled

SOURCE = "us-east-1"
STACK = "SsmReplicator-local"
ACCOUNT = "123456789012"
ALIAS = "alias/demo-app"
ALIAS_PLACES = [r for r in os.environ.get(
    "DEMO_ALIAS_PLACES", "us-east-1,us-east-2,eu-west-1,111111111111/us-west-2").split(",") if r]
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
P = "/demo/app"
OUTSIDE = "/other/not-replicated"


def client(service, place=SOURCE):
    """A client in `place`: a region of this account, or ACCOUNT/REGION (credentials of that account)."""
    account, _, region = place.rpartition("/")
    if not account or account == ACCOUNT:
        return boto3.client(service, region_name=region, endpoint_url=ENDPOINT,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    creds = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/demo-operator",
                                      RoleSessionName="demo")["Credentials"]
    return boto3.client(service, region_name=region, endpoint_url=ENDPOINT, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


class DemoFailure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise DemoFailure(message)


class Deployment:
    """What `cdk deploy` put into the emulator, read back through the AWS APIs."""

    def __init__(self):
        resources = client("cloudformation").describe_stack_resources(StackName=STACK)["StackResources"]
        lam, events = client("lambda"), client("events")
        configs = [lam.get_function_configuration(FunctionName=r["PhysicalResourceId"])
                   for r in resources if r.get("ResourceType") == "AWS::Lambda::Function"]
        replicators = [c for c in configs if "TARGETS" in c.get("Environment", {}).get("Variables", {})]
        expect(len(replicators) == 1, f"expected one replicator function in {STACK}, found {len(replicators)}")
        self.function_arn = replicators[0]["FunctionArn"]
        self.environment = replicators[0]["Environment"]["Variables"]
        self.targets = self.environment["TARGETS"].split(",")
        # The role in each other target account, as its target stack deployed it there.
        self.target_roles = {}
        for place in (t for t in self.targets if "/" in t):
            account = place.split("/")[0]
            stack = f"SsmReplicatorTarget-local-{account}"
            # Target stacks live in the source region of their account.
            cfn = client("cloudformation", f"{account}/{SOURCE}")
            res = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
            roles = [r["PhysicalResourceId"] for r in res if r.get("ResourceType") == "AWS::IAM::Role"]
            expect(roles == [self.environment["TARGET_ROLE_NAME"]],
                   f"{stack} in {account} does not hold the role {self.environment['TARGET_ROLE_NAME']}: {roles}")
            self.target_roles[account] = f"arn:aws:iam::{account}:role/{roles[0]}"
        self.rules = [events.describe_rule(Name=r["PhysicalResourceId"])
                      for r in resources if r.get("ResourceType") == "AWS::Events::Rule"]
        for rule in self.rules:
            arns = [t["Arn"] for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]]
            expect(self.function_arn in arns, f"the deployed rule {rule['Name']} does not target the function")
        self.patterns = [r for r in self.rules if r.get("EventPattern")]
        schedules = [r for r in self.rules if r.get("ScheduleExpression")]
        expect(self.patterns and len(schedules) == 1, f"{STACK} lacks its event rules or its schedule")
        self.schedule = schedules[0]
        self.taps = {}

    def describe(self):
        print(f"\n== deployed: {self.function_arn}")
        for key, value in sorted(self.environment.items()):
            print(f"    {key}={value}")
        for rule in self.rules:
            what = rule.get("ScheduleExpression") or rule["EventPattern"]
            print(f"  rule {rule['Name']}: {what}")
        for account, role in self.target_roles.items():
            print(f"  target role in account {account}: {role} (stack SsmReplicatorTarget-local-{account})")

    def tap(self):
        """A queue per pattern rule, attached as an extra target: it receives exactly what the rule routes."""
        sqs, events = client("sqs"), client("events")
        for i, rule in enumerate(self.patterns):
            url = sqs.create_queue(QueueName=f"demo-routed-{i}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_targets(Rule=rule["Name"], Targets=[{"Id": "demo-routed", "Arn": arn}])
            self.taps[rule["Name"]] = url

    def route(self, entries):
        """PutEvents to the default bus; returns (rule name, event) for everything a deployed rule routed."""
        events, sqs = client("events"), client("sqs")
        for i in range(0, len(entries), 10):
            result = events.put_events(Entries=entries[i:i + 10])
            expect(result["FailedEntryCount"] == 0, f"PutEvents rejected events: {result['Entries']}")
        routed = []
        for rule, url in self.taps.items():
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                for m in messages:
                    routed.append((rule, json.loads(m["Body"])))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return routed


def change(operation, name):
    return {"Source": "aws.ssm", "DetailType": "Parameter Store Change",
            "Resources": [f"arn:aws:ssm:{SOURCE}:{ACCOUNT}:parameter{name}"],
            "Detail": json.dumps({"operation": operation, "name": name, "type": "String"})}


def tag_added(name, value="yes"):
    return {"Source": "aws.ssm", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps({
        "eventSource": "ssm.amazonaws.com", "eventName": "AddTagsToResource", "awsRegion": SOURCE,
        "requestParameters": {"resourceType": "Parameter", "resourceId": name,
                              "tags": [{"key": "replicate", "value": value}]}})}


def put(name, value, kind="String", tags=(("replicate", "yes"),), **extra):
    SSM[SOURCE].put_parameter(Name=name, Value=value, Type=kind, Tags=[{"Key": k, "Value": v} for k, v in tags],
                              **extra)


def read(region, name):
    try:
        p = SSM[region].get_parameter(Name=name, WithDecryption=True)["Parameter"]
    except SSM[region].exceptions.ParameterNotFound:
        return None
    meta = SSM[region].describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])["Parameters"][0]
    return {"value": p["Value"], "type": p["Type"], "key": meta.get("KeyId"), "tier": meta.get("Tier")}


def shown(p):
    if p is None:
        return "—"
    if p["type"] == "SecureString":
        return f"**** ({p['key']})"
    value = p["value"] if len(p["value"]) <= 28 else f"{p['value'][:20]}…({len(p['value'])} B)"
    return f"{value} [{p['type']}{', Advanced' if p['tier'] == 'Advanced' else ''}]"


NAMES = [f"{P}/url", f"{P}/hosts", f"{P}/db-password", f"{P}/api-token", f"{P}/big-config", f"{P}/eu-only",
         f"{P}/local-only", OUTSIDE]


def table():
    cols = [SOURCE, *TARGETS]
    rows = [[n.removeprefix(P + "/")] + [shown(read(r, n)) for r in cols] for n in NAMES]
    widths = [max(len(str(x)) for x in col) for col in zip(["parameter", *cols], *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))
    print(line(["parameter", *[f"{c}{' (source)' if c == SOURCE else ''}" for c in cols]]))
    for row in rows:
        print(line(row))


def summary(report):
    counts = ", ".join(f"{k} {v}" for k, v in report.get("summary", {}).items()) or "nothing to do"
    rows = []
    for p in report.get("parameters", []):
        for t in p["targets"]:
            reason = f" ({t['reason']})" if t.get("reason") else ""
            changed = f" [{', '.join(t['changed'])}]" if t.get("changed") else ""
            rows.append(f"      {p['name']} → {t['target']}: {t['outcome']}{reason}{changed}")
            if t["outcome"] == "failed":
                hint = (f" — the demo creates {ALIAS} only in {', '.join(ALIAS_PLACES)}"
                        if t.get("reason", "").startswith("kms") else "")
                raise DemoFailure(f"{p['name']} failed in {t['target']}: {t.get('reason')} {t.get('error', '')}{hint}")
    unlisted = f" ({report['unlisted']} unchanged or skipped not listed)" if report.get("unlisted") else ""
    calls = sum(sum(o.values()) for o in report["api_calls"].values())
    print(f"    report ({report['trigger']}): {counts}{unlisted}; {calls} API calls")
    print("\n".join(rows))
    if report.get("summary", {}).get("failed"):
        raise DemoFailure(f"{report['summary']['failed']} replication(s) failed: {report.get('reasons')}")


def show_labels(name):
    """Labels of `name` in every place (label → the value of the version it is on: versions differ per
    region, values do not), and a check that each target carries the source's (REPLICATE_LABELS)."""
    def labels(place):
        history = SSM[place].get_parameter_history(Name=name, WithDecryption=True)["Parameters"]
        return {label: h["Value"] for h in history for label in h.get("Labels", [])}
    source = labels(SOURCE)
    for place in [SOURCE, *TARGETS]:
        here = labels(place)
        print(f"  labels of {name} in {place}: {here}")
        expect(here == source, f"{name} in {place} carries labels {sorted(here)}, the source {sorted(source)}")


def describe(event):
    d = event["detail"]
    what = d.get("operation") or d.get("eventName")
    request = d.get("requestParameters") or {}
    name = (d.get("name") or request.get("resourceId") or request.get("name") or request.get("secretId")
            or (d.get("additionalEventData") or {}).get("SecretId"))
    return f"{event['detail-type']}: {what} {name}"


# Secrets Manager (SECRETS=true in the deployed environment, SECRET_PREFIXES demo/).
NATIVE_SECRET = "demo/app/db-credentials"  # replicate=us-east-2:eu-west-1: the service's own replication
COPIED_SECRET = "demo/app/partner-api-key"  # replicate=111111111111/us-west-2: a copy in the other account


def secret_call(event_name, request, arn=None):
    """A Secrets Manager call's CloudTrail event, as EventBridge delivers it."""
    return {"Source": "aws.secretsmanager", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps({
        "eventSource": "secretsmanager.amazonaws.com", "eventName": event_name, "awsRegion": SOURCE,
        "requestParameters": request, "responseElements": {"arn": arn} if arn else None})}


def rotation_succeeded(arn):
    """The rotation service event (AWS Service Event via CloudTrail): the secret's ARN in additionalEventData."""
    return {"Source": "aws.secretsmanager", "DetailType": "AWS Service Event via CloudTrail", "Detail": json.dumps({
        "eventSource": "secretsmanager.amazonaws.com", "eventName": "RotationSucceeded", "awsRegion": SOURCE,
        "eventType": "AwsServiceEvent", "requestParameters": None, "responseElements": None,
        "additionalEventData": {"SecretId": arn}})}


def secrets_table():
    """Per secret: the source's replica regions with their status and key, and the copies' version ids."""
    sm = client("secretsmanager")
    for name in (NATIVE_SECRET, COPIED_SECRET):
        d = sm.describe_secret(SecretId=name)
        current = next(v for v, stages in d["VersionIdsToStages"].items() if "AWSCURRENT" in stages)
        print(f"  secret {name} (value ****, version {current[:8]}…)")
        for r in d.get("ReplicationStatus", []):
            print(f"    native replica in {r['Region']}: {r['Status']} (key {r.get('KmsKeyId')})")
        for place in (t for t in TARGETS if "/" in t):
            try:
                copy = client("secretsmanager", place).describe_secret(SecretId=name)
            except client("secretsmanager", place).exceptions.ResourceNotFoundException:
                continue
            there = next(v for v, stages in copy["VersionIdsToStages"].items() if "AWSCURRENT" in stages)
            print(f"    copy in {place}: version {there[:8]}… ({'same as' if there == current else 'NOT'} the source's)")


def verify_secrets():
    sm = client("secretsmanager")
    native = sm.describe_secret(SecretId=NATIVE_SECRET)
    statuses = {r["Region"]: r["Status"] for r in native.get("ReplicationStatus", [])}
    own = [t for t in TARGETS if "/" not in t]
    expect(statuses == {r: "InSync" for r in own}, f"{NATIVE_SECRET} replica statuses: {statuses}")
    source = sm.get_secret_value(SecretId=COPIED_SECRET)
    for place in (t for t in TARGETS if "/" in t):
        copy = client("secretsmanager", place).get_secret_value(SecretId=COPIED_SECRET)
        expect(copy["SecretString"] == source["SecretString"], f"{COPIED_SECRET} in {place} differs from the source")
        expect(copy["VersionId"] == source["VersionId"], f"{COPIED_SECRET} in {place} is not at the source's version")


def step(title, change_source, entries, unrouted=(), parameters=True):
    """Change the source, publish the events, hand what the deployed rules routed to the function."""
    print(f"\n== {title}")
    change_source()
    routed = DEPLOYMENT.route(entries)
    routed_names = {json.loads(e["Detail"]).get("name") for e in entries} - set(unrouted)
    for rule, event in routed:
        print(f"  {describe(event)}\n    routed by rule {rule}")
        expect(event["detail"].get("name") not in unrouted, f"a deployed rule routed {describe(event)}")
        summary(FUNCTION.invoke(event))
    expect(len(routed) == len(entries) - len(unrouted),
           f"the deployed rules routed {len(routed)} of {len(entries) - len(unrouted)} events for "
           f"{sorted(n for n in routed_names if n)}")
    for name in unrouted:
        print(f"  Parameter Store Change for {name}: no deployed rule matched it; not delivered")
    print()
    if parameters:
        table()


def fire_schedule(title, change_source):
    rule = DEPLOYMENT.schedule
    print(f"\n== {title}")
    change_source()
    print(f"  rule {rule['Name']} ({rule['ScheduleExpression']}): the emulator has no scheduler; fired now")
    event = scheduled()
    event["resources"] = [rule["Arn"]]
    summary(FUNCTION.invoke(event))
    print()
    table()


def verify():
    """Every target equals the source for what is selected for it; nothing else is there."""
    selected = {n: list(TARGETS) for n in NAMES if n.startswith(P) and read(SOURCE, n) is not None}
    selected[f"{P}/eu-only"] = []  # deselected in step 5 (replicate=no) and pruned
    for name in NAMES:
        src = read(SOURCE, name)
        for region in TARGETS:
            replica = read(region, name)
            if src is None or region not in selected.get(name, []):
                expect(replica is None, f"{name} should not exist in {region}")
                continue
            expect(replica is not None, f"{name} is missing in {region}")
            expect(replica["value"] == src["value"], f"{name} in {region} does not match the source value")
            expect(replica["type"] == src["type"], f"{name} in {region} is {replica['type']}, not {src['type']}")
            expect(replica["tier"] == src["tier"], f"{name} in {region} is {replica['tier']}, not {src['tier']}")
            if src["key"] == ALIAS:
                expect(replica["key"] == ALIAS, f"{name} in {region} is not encrypted with {ALIAS}")


def main():
    for place in ALIAS_PLACES:
        kms = client("kms", place)
        kms.create_alias(AliasName=ALIAS, TargetKeyId=kms.create_key(Description="demo")["KeyMetadata"]["KeyId"])

    def create():
        put(f"{P}/url", "https://v1.example.com")
        put(f"{P}/hosts", "a.example.com,b.example.com", kind="StringList")
        put(f"{P}/db-password", "demo-password-1", kind="SecureString")
        put(f"{P}/api-token", "demo-token-1", kind="SecureString", KeyId=ALIAS)
        put(f"{P}/big-config", "x" * 5000, Tier="Advanced")
        put(f"{P}/eu-only", "only in Europe", tags=(("replicate", "eu-west-1"),))
        put(f"{P}/local-only", "stays here", tags=())
        put(OUTSIDE, "outside /demo/", tags=(("replicate", "yes"),))

    step("1. create parameters in us-east-1: six tagged replicate, one untagged, one outside /demo/", create,
         [change("Create", n) for n in NAMES], unrouted=[OUTSIDE])
    step("2. update a value", lambda: SSM[SOURCE].put_parameter(
        Name=f"{P}/url", Value="https://v2.example.com", Type="String", Overwrite=True),
        [change("Update", f"{P}/url")])
    step("2b. label the updated parameter: 'previous' on version 1, 'live' on version 2 (mapped by content)",
         lambda: [SSM[SOURCE].label_parameter_version(Name=f"{P}/url", ParameterVersion=v, Labels=[label])
                  for v, label in ((1, "previous"), (2, "live"))],
         [change("LabelParameterVersion", f"{P}/url")])
    show_labels(f"{P}/url")
    step("3. tag the untagged parameter replicate=yes (CloudTrail AddTagsToResource)", lambda: SSM[SOURCE]
         .add_tags_to_resource(ResourceType="Parameter", ResourceId=f"{P}/local-only",
                               Tags=[{"Key": "replicate", "Value": "yes"}]), [tag_added(f"{P}/local-only")])
    step("4. delete a parameter", lambda: SSM[SOURCE].delete_parameter(Name=f"{P}/hosts"),
         [change("Delete", f"{P}/hosts")])
    deselected = f"{P}/eu-only"
    step("5. deselect a parameter: tag it replicate=no (PRUNE_DESELECTED is on in environments/local.json)",
         lambda: SSM[SOURCE].add_tags_to_resource(ResourceType="Parameter", ResourceId=deselected,
                                                  Tags=[{"Key": "replicate", "Value": "no"}]),
         [tag_added(deselected, "no")])
    expect(read(SOURCE, deselected) is not None, f"{deselected} should still exist in {SOURCE}")
    for region in TARGETS:
        expect(read(region, deselected) is None, f"{deselected} was deselected but its replica is still in {region}")
    print(f"  {deselected}: deselected; its replica is gone from every target (the source stays)")
    if DEPLOYMENT.environment.get("SECRETS") == "true":
        sm = client("secretsmanager")
        arns = {}

        def create_secrets():
            tags = {NATIVE_SECRET: ",".join(t for t in TARGETS if "/" not in t).replace(",", ":"),
                    COPIED_SECRET: ":".join(t for t in TARGETS if "/" in t)}
            for name, value in ((NATIVE_SECRET, '{"user":"app","password":"demo-secret-1"}'),
                                (COPIED_SECRET, "demo-partner-key-1")):
                arns[name] = sm.create_secret(Name=name, SecretString=value, Description="demo",
                                              Tags=[{"Key": "replicate", "Value": tags[name]}])["ARN"]

        step("6. secrets: one replicated natively to this account's regions, one copied into the other account",
             create_secrets, [secret_call("CreateSecret", {"name": n}) for n in (NATIVE_SECRET, COPIED_SECRET)],
             parameters=False)
        secrets_table()
        step(f"6b. rotate {COPIED_SECRET} (a new version; RotationSucceeded): the copy follows, same version id",
             lambda: sm.put_secret_value(SecretId=COPIED_SECRET, SecretString="demo-partner-key-2"),
             [rotation_succeeded(arns[COPIED_SECRET])], parameters=False)
        secrets_table()
        verify_secrets()
    fire_schedule(f"7. drift: someone edits the replica in {TARGETS[0]}; the scheduled full sync repairs it",
                  lambda: SSM[TARGETS[0]].put_parameter(Name=f"{P}/url", Value="edited by hand", Type="String",
                                                        Overwrite=True))
    verify()
    show_labels(f"{P}/url")
    print("\nDemo passed: every target matches the source.")


if __name__ == "__main__":
    FUNCTION = None
    try:
        DEPLOYMENT = Deployment()
        TARGETS = DEPLOYMENT.targets
        SSM = {r: client("ssm", r) for r in [SOURCE, *TARGETS]}
        DEPLOYMENT.describe()
        DEPLOYMENT.tap()
        FUNCTION = Function(DEPLOYMENT.environment)
        main()
    except (DemoFailure, LocalLambdaError) as e:
        print(f"\nDemo FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        if FUNCTION is not None:
            FUNCTION.stop()
