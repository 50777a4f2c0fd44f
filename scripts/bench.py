#!/usr/bin/env python3
"""`make bench`: full syncs and change events against the AWS API emulator, measured.

For each size N: seed N tagged parameters in us-east-1 (String, StringList, SecureString, Advanced),
then run the release `ssm-replicator sync --json` into us-east-2 and eu-west-1 three times —
(a) first replication, (b) nothing changed, (c) 1% of values changed — recording wall time, API calls per
parameter by operation (from the tool's own call counter), writes and peak RSS (VmHWM). Then 200 single-
parameter change events through the release Lambda binary under cargo-lambda's runtime emulator, with
p50/p99 latency. Prints one Markdown table. Run by scripts/with-emulator (AWS_ENDPOINT_URL is set).
The emulator has no quotas: rate limits are raised (--read-tps/--write-tps) so that the tool, not the
limiter, is measured. Against AWS the defaults (40 read, 3 write TPS per region) apply.

Columns computed from the call counts the tool reports (not measured):
- "API calls/param": every operation the tool counted except writes (PutParameter, Add/RemoveTags,
  DeleteParameter), tag reads included — whatever operations appear (ListTagsForResource, the tagging API's
  GetResources, ...), over all regions, divided by N.
- "time at AWS default quotas": a LOWER BOUND computed from call counts, not a measured run. Per region
  max(reads / 40, writes / 3) seconds; the sync's figure is the max over regions (regions work in
  parallel). 40 TPS: Parameter Store's default throughput, shared by GetParameter, GetParameters and
  GetParametersByPath per account and region ("AWS Systems Manager endpoints and quotas",
  https://docs.aws.amazon.com/general/latest/gr/ssm.html); every other read (DescribeParameters, tag
  reads) is counted against the same 40 TPS here, although its own rate is separate and undocumented
  (DescribeParameters' is reportedly lower). 3 TPS: PutParameter's default throughput as reported by AWS
  Support (DESIGN.md §4; not on the quotas page); every write operation is counted against it.

Event latency comes from the function itself: each change event carries the current time in its `time`
field, and the function's CloudWatch EMF lines (on its stdout) carry ReplicationLatency, milliseconds
from that time to each target's result; p50/p99 are over those values (one per event and target). The
client-side round trip of each invoke is kept as a second, labelled figure.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3

from local_lambda import Function, change, emf_lines

SOURCE, TARGETS = "us-east-1", ["us-east-2", "eu-west-1"]
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
CLI = os.path.join(os.path.dirname(__file__), "..", "target", "release", "ssm-replicator")
WRITES = {"PutParameter", "AddTagsToResource", "RemoveTagsFromResource", "DeleteParameter"}
# Tag reads, by either API (excluded only from the "no tags" column).
TAG_READS = {"ListTagsForResource", "GetResources"}
SHORT = {"DescribeParameters": "Describe", "GetParameters": "GetParameters", "ListTagsForResource": "ListTags",
         "PutParameter": "Put", "GetParameter": "Get", "AddTagsToResource": "AddTags"}
# Default quotas (TPS per account and region) for the computed lower bound; see the docstring.
READ_TPS, WRITE_TPS = 40, 3


def ssm(region):
    return boto3.client("ssm", region_name=region, endpoint_url=ENDPOINT,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def name(i):
    return f"/bench/app/p{i:05d}"


def seed(n):
    client = ssm(SOURCE)

    def put(i):
        kind = ["String", "StringList", "SecureString", "String"][i % 4]
        extra = {"Tier": "Advanced", "Description": "advanced"} if i % 4 == 3 else {}
        client.put_parameter(Name=name(i), Value=f"value-{i}", Type=kind,
                             Tags=[{"Key": "replicate", "Value": "yes"}, {"Key": "team", "Value": f"t{i % 7}"}],
                             **extra)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(n)))


def peak_rss_mb(args):
    """Run a command; return (stdout, its peak RSS in MB).

    The peak is the process's own VmHWM (/proc/<pid>/status), polled until it exits. wait4's ru_maxrss is
    not used: Linux carries the pre-exec high-water mark of the forked child — a copy of this Python
    process, which grows with the seeded store — into it, which would misattribute Python's memory.
    """
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))
    reader.start()
    peak_kb = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    reader.join()
    if proc.wait() != 0:
        sys.exit(f"bench: {' '.join(args[:2])} failed")
    return "".join(chunks), peak_kb / 1024


def run_sync(n):
    args = [CLI, "sync", "--json", "--source-region", SOURCE, "--targets", ",".join(TARGETS),
            "--path", "/bench/", "--read-tps", "10000", "--write-tps", "10000"]
    started = time.monotonic()
    out, rss = peak_rss_mb(args)
    wall = time.monotonic() - started
    summary = json.loads(out.strip().splitlines()[-1])
    calls = {}
    for ops in summary["api_calls"].values():
        for op, count in ops.items():
            calls[op] = calls.get(op, 0) + count
    per_param = {op: c / n for op, c in sorted(calls.items())}
    writes = sum(c for op, c in calls.items() if op in WRITES)
    reads = sum(c for op, c in calls.items() if op not in WRITES)
    reads_wo_tags = sum(c for op, c in calls.items() if op not in WRITES and op not in TAG_READS)
    return {"wall": wall, "per_param": per_param, "writes": writes, "rss": rss, "reads": reads / n,
            "reads_wo_tags": reads_wo_tags / n, "at_quotas": at_default_quotas(summary["api_calls"]),
            "summary": summary["summary"]}


def at_default_quotas(api_calls):
    """Lower bound in seconds from call counts: per region max(reads/40, writes/3); regions in parallel."""
    per_region = []
    for ops in api_calls.values():
        writes = sum(c for op, c in ops.items() if op in WRITES)
        reads = sum(c for op, c in ops.items() if op not in WRITES)
        per_region.append(max(reads / READ_TPS, writes / WRITE_TPS))
    return max(per_region, default=0.0)


def fmt_seconds(s):
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def change_values(n, count):
    client = ssm(SOURCE)
    changed = 0
    for i in range(0, n, 4):  # plain Strings only, so type and tier stay as they are
        client.put_parameter(Name=name(i), Value=f"changed-{time.time()}", Type="String", Overwrite=True)
        changed += 1
        if changed == count:
            return changed
    return changed


def reset():
    urllib.request.urlopen(urllib.request.Request(f"{ENDPOINT}/moto-api/reset", method="POST"))


def events(n, count):
    fn = Function({"TARGETS": ",".join(TARGETS), "RUST_LOG": "warn"}, release=True)
    client = ssm(SOURCE)
    round_trips = []
    try:
        fn.invoke(change("Update", name(0)))  # warm the function (cold start excluded from latency)
        warm = len(emf_lines(fn.output()))
        for k in range(count):
            i = (k * 4) % n
            client.put_parameter(Name=name(i), Value=f"event-{k}", Type="String", Overwrite=True)
            # Stamped once the source write is done, as EventBridge stamps the change.
            event = change("Update", name(i))
            started = time.monotonic()
            report = fn.invoke(event)
            round_trips.append((time.monotonic() - started) * 1000)
            outcomes = [t["outcome"] for p in report["parameters"] for t in p["targets"]]
            if outcomes != ["updated", "updated"]:
                sys.exit(f"bench: event {k} gave {outcomes}")
        latencies = []
        for _ in range(50):  # the function's output reaches the log a moment after the response
            docs = emf_lines(fn.output())[warm:]
            latencies = [v for d in docs if d.get("Trigger") == "event" for v in d.get("ReplicationLatency", [])]
            if len(latencies) >= count * len(TARGETS):
                break
            time.sleep(0.1)
        if len(latencies) != count * len(TARGETS):
            sys.exit(f"bench: {len(latencies)} ReplicationLatency values in the EMF lines, "
                     f"expected {count * len(TARGETS)}; see {fn.log.name}")
    finally:
        fn.stop()
    return percentiles(latencies), percentiles(round_trips)


def percentiles(values):
    values = sorted(values)
    return statistics.median(values), values[max(int(len(values) * 0.99) - 1, 0)]


def fmt_calls(per_param):
    return ", ".join(f"{SHORT.get(op, op)} {v:.2f}" for op, v in per_param.items())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    rss = {}
    for n in sizes:
        reset()
        t = time.monotonic()
        seed(n)
        print(f"seeded {n} parameters in {time.monotonic() - t:.0f} s", file=sys.stderr)
        for label, prepare in [("first replication", None), ("nothing changed", None),
                               ("1% changed", lambda: change_values(n, n // 100))]:
            changed = prepare() if prepare else None
            r = run_sync(n)
            expected = f" (expected {changed * len(TARGETS)})" if changed else ""
            rows.append([label, n, f"{r['wall']:.1f}", fmt_seconds(r["at_quotas"]), f"{r['reads']:.3f}",
                         f"{r['reads_wo_tags']:.3f}", fmt_calls(r["per_param"]), f"{r['writes']}{expected}",
                         f"{r['rss']:.1f}"])
            rss.setdefault(n, []).append(r["rss"])
            print(f"{label} N={n}: {r['summary']}", file=sys.stderr)
    (p50, p99), (rt50, rt99) = events(sizes[0], args.events)

    print(f"\nMeasured on {platform.machine()}, {os.cpu_count()} cores, against the moto server on 127.0.0.1, "
          f"2 targets (us-east-2, eu-west-1); release build.\n")
    print("| scenario | parameters | wall s | time at AWS default quotas (lower bound from call counts, "
          "not measured) | API calls/param (all but writes, tag reads included) | reads/param (no tags) "
          "| API calls per parameter | writes | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    print(f"| {args.events} change events (Lambda binary, cargo-lambda runtime emulator) | {sizes[0]} | "
          f"ReplicationLatency (EMF) p50 {p50:.0f} ms, p99 {p99:.0f} ms; invoke round trip p50 {rt50:.0f} ms, "
          f"p99 {rt99:.0f} ms | | | | | {2 * args.events} | |")
    if len(sizes) > 1:
        small, large = max(rss[sizes[0]]), max(rss[sizes[-1]])
        print(f"\nPeak RSS {sizes[-1]} vs {sizes[0]}: {large:.1f} MB vs {small:.1f} MB "
              f"({(large / small - 1) * 100:+.0f}%).")
    print("\nReproduce: `make bench` (sizes: `make bench BENCH_SIZES=1000,10000 BENCH_EVENTS=200`).")


if __name__ == "__main__":
    main()
