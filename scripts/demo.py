#!/usr/bin/env python3
"""`make demo`: the real ssm-replicator-lambda, run by cargo-lambda's runtime emulator, replicating
parameters between regions of the AWS API emulator (moto server). Started by scripts/with-emulator,
which provides AWS_ENDPOINT_URL and stops the emulator afterwards.

Each step changes the source region the way a person would, delivers the event EventBridge would deliver,
prints the function's report and a side-by-side table (SecureString values masked), and checks the result.
Exits non-zero, with the reason, when any target does not end up matching the source.
"""
import os
import sys

import boto3

from local_lambda import Function, LocalLambdaError, change, cloudtrail_tags, scheduled

SOURCE = "us-east-1"
TARGETS = [r for r in os.environ.get("DEMO_TARGET_REGIONS", "us-east-2,eu-west-1").split(",") if r]
ALIAS = "alias/demo-app"
ALIAS_REGIONS = [r for r in os.environ.get("DEMO_ALIAS_REGIONS", ",".join([SOURCE, "us-east-2", "eu-west-1"])).split(",") if r]
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
P = "/demo/app"


def client(service, region):
    return boto3.client(service, region_name=region, endpoint_url=ENDPOINT,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


SSM = {r: client("ssm", r) for r in [SOURCE, *TARGETS]}


class DemoFailure(Exception):
    pass


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
    value = p['value'] if len(p['value']) <= 28 else f"{p['value'][:20]}…({len(p['value'])} B)"
    return f"{value} [{p['type']}{', Advanced' if p['tier'] == 'Advanced' else ''}]"


NAMES = [f"{P}/url", f"{P}/hosts", f"{P}/db-password", f"{P}/api-token", f"{P}/big-config", f"{P}/eu-only",
         f"{P}/local-only"]


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
            rows.append(f"    {p['name']} → {t['region']}: {t['outcome']}{reason}{changed}")
            if t["outcome"] == "failed":
                raise DemoFailure(f"{p['name']} failed in {t['region']}: {t.get('reason')} {t.get('error', '')}")
    unlisted = f" ({report['unlisted']} unchanged or skipped not listed)" if report.get("unlisted") else ""
    print(f"  report ({report['trigger']}): {counts}{unlisted}; {sum(sum(o.values()) for o in report['api_calls'].values())} API calls")
    print("\n".join(rows))
    if report.get("summary", {}).get("failed"):
        raise DemoFailure(f"{report['summary']['failed']} replication(s) failed: {report.get('reasons')}")


def step(title, fn, events):
    print(f"\n== {title}")
    fn()
    for event in events:
        summary(FUNCTION.invoke(event))
    print()
    table()


def expect(condition, message):
    if not condition:
        raise DemoFailure(message)


def verify():
    """Every target equals the source for what is selected for it; nothing else is there."""
    selected = {n: list(TARGETS) for n in NAMES if read(SOURCE, n) is not None}
    selected[f"{P}/eu-only"] = [r for r in TARGETS if r == "eu-west-1"]
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
            if src["key"] == ALIAS:
                expect(replica["key"] == ALIAS, f"{name} in {region} is not encrypted with {ALIAS}")


def main():
    for region in ALIAS_REGIONS:
        kms = client("kms", region)
        kms.create_alias(AliasName=ALIAS, TargetKeyId=kms.create_key(Description="demo")["KeyMetadata"]["KeyId"])

    def create():
        put(f"{P}/url", "https://v1.example.com")
        put(f"{P}/hosts", "a.example.com,b.example.com", kind="StringList")
        put(f"{P}/db-password", "demo-password-1", kind="SecureString")
        put(f"{P}/api-token", "demo-token-1", kind="SecureString", KeyId=ALIAS)
        put(f"{P}/big-config", "x" * 5000, Tier="Advanced")
        put(f"{P}/eu-only", "only in Europe", tags=(("replicate", "eu-west-1"),))
        put(f"{P}/local-only", "stays here", tags=())

    step("1. create seven parameters in us-east-1 (six tagged replicate, one untagged)", create,
         [change("Create", n) for n in NAMES])
    step("2. update a value", lambda: SSM[SOURCE].put_parameter(
        Name=f"{P}/url", Value="https://v2.example.com", Type="String", Overwrite=True),
        [change("Update", f"{P}/url")])
    step("3. tag the untagged parameter replicate=yes (CloudTrail AddTagsToResource)", lambda: SSM[SOURCE]
         .add_tags_to_resource(ResourceType="Parameter", ResourceId=f"{P}/local-only",
                               Tags=[{"Key": "replicate", "Value": "yes"}]), [cloudtrail_tags(f"{P}/local-only")])
    step("4. delete a parameter", lambda: SSM[SOURCE].delete_parameter(Name=f"{P}/hosts"),
         [change("Delete", f"{P}/hosts")])
    step(f"5. drift: someone edits the replica in {TARGETS[0]}; the scheduled full sync repairs it", lambda: SSM[TARGETS[0]]
         .put_parameter(Name=f"{P}/url", Value="edited by hand", Type="String", Overwrite=True),
         [scheduled()])
    verify()
    print("\nDemo passed: every target matches the source.")


if __name__ == "__main__":
    FUNCTION = None
    try:
        FUNCTION = Function({"TARGET_REGIONS": ",".join(TARGETS), "FULL_SYNC_RESERVE_SECONDS": "5"})
        main()
    except (DemoFailure, LocalLambdaError) as e:
        print(f"\nDemo FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        if FUNCTION is not None:
            FUNCTION.stop()
