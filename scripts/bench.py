#!/usr/bin/env python3
"""`make bench`: full syncs and change events against the AWS API emulator, measured.

For each size N: seed in us-east-1 N parameters tagged replicate=yes under /bench/app/ (String, StringList,
SecureString, Advanced), and N that are not replicated — half untagged under the same prefix
(/bench/app/own-p...), half tagged otherwise (team=x) under /bench/other/ — created interleaved with the
replicated ones (moto lists in creation order), so a filtered listing meets them throughout; in each
target region (us-east-2, eu-west-1) seed N of the account's own, untagged (half under /bench/app/ with
names no replica has, half under /local/). Then run the release `ssm-replicator sync --json` into the two
targets three times — (a) first replication, (b) nothing changed, (c) 1% of values changed — recording wall
time, API calls per replicated parameter by operation (from the tool's own call counter), writes and peak
RSS (VmHWM). Then a sparse selection (`--sparse`, default 10,000; 0 leaves it out): a source region of that
many parameters under /bench/app/ of which 1% are tagged replicate=yes, the rest untagged, and empty
targets; first replication and nothing changed, per replicated parameter. Then 200 single-parameter change
events through the release Lambda binary under cargo-lambda's runtime emulator, with p50/p99 latency.
Prints one Markdown table. Run by scripts/with-emulator (AWS_ENDPOINT_URL is set).

Every call of the CLI meets the AWS-behaviour layer: each sync run starts its own AWS-behaviour proxy
(`function/tests/aws_proxy.rs`, the integration suite's `FaultProxy::aws` with every behaviour on: empty
DescribeParameters pages, listing lag, scan-then-filter, limits, ...) between the CLI and the emulator, and
the CLI's AWS_ENDPOINT_URL points at it. So its call figures are what AWS would make it do, empty pages
included (the tool counts them; the line under the table says how many the layer injected per run). Seeding
and resets go straight to the emulator, and the bench waits out the layer's listing lag (0.5 s for a
parameter just created) before each run. The change events (`events()`) go straight to the emulator, then
once more through a proxy that holds every target request 75 ms (a region away), which also measures the
sequential round trips of one event per scenario (create, update, replay, delete) from its requests' overlaps.
The emulator has no quotas: rate limits are raised (--read-tps/--write-tps) so that the tool, not the
limiter, is measured. Against AWS the defaults (40 read, 3 write TPS per region) apply.

Columns computed from the call counts the tool reports (not measured):
- "API calls/param": every operation the tool counted except writes (PutParameter, Add/RemoveTags,
  DeleteParameter), tag reads included — whatever operations appear (ListTagsForResource, the tagging API's
  GetResources, ...), over all regions, divided by the number of replicated parameters (not by the
  parameters the regions hold).
- "DescribeParameters/param": the DescribeParameters calls alone, over all regions, per replicated
  parameter (empty pages included).
- "time at AWS default quotas": a LOWER BOUND computed from call counts, not a measured run. Per region
  max(reads / 40, writes / 3) seconds; the sync's figure is the max over regions (regions work in
  parallel). 40 TPS: Parameter Store's default throughput, shared by GetParameter, GetParameters and
  GetParametersByPath per account and region ("AWS Systems Manager endpoints and quotas",
  https://docs.aws.amazon.com/general/latest/gr/ssm.html); the Parameter Store throughput quotas cover
  those and PutParameter. AWS documents no throughput quota for DescribeParameters, yet throttles it with
  "Rate exceeded" as it does the others (the AWS knowledge-center article on ThrottlingException,
  https://repost.aws/knowledge-center/ssm-parameter-store-rate-exceeded). So the lower bound counts
  DescribeParameters, and every other read (tag reads), against the same 40 TPS, and that figure is
  optimistic for DescribeParameters-heavy runs (the sparse selection, regions holding many parameters the
  tool does not replicate). 3 TPS: PutParameter's default throughput as reported by AWS Support
  (not on the quotas page); every write operation is counted against it.

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
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CLI = os.path.join(ROOT, "target", "release", "ssm-replicator")
CARGO = os.environ.get("CARGO", "cargo")
WRITES = {"PutParameter", "AddTagsToResource", "RemoveTagsFromResource", "DeleteParameter"}
# Tag reads, by either API (excluded only from the "no tags" column).
TAG_READS = {"ListTagsForResource", "GetResources"}
SHORT = {"DescribeParameters": "Describe", "GetParameters": "GetParameters", "ListTagsForResource": "ListTags",
         "PutParameter": "Put", "GetParameter": "Get", "AddTagsToResource": "AddTags"}
# Default quotas (TPS per account and region) for the computed lower bound; see the docstring.
READ_TPS, WRITE_TPS = 40, 3
# A cross-region round trip, for the events with far targets (us-east-1 to eu-west-1 is about 75 ms).
TARGET_DELAY_MS = 75
# The AWS-behaviour layer hides a parameter created less than 0.5 s ago from DescribeParameters (listing
# lag); each run waits this long first, so it sees a settled store (the seed, the previous run's replicas).
SETTLE_S = 1.0
KINDS = ["String", "StringList", "SecureString", "String"]
REPLICATE = {"Key": "replicate", "Value": "yes"}
# One in SPARSE_EVERY parameters of the sparse selection is replicated (1%).
SPARSE_EVERY = 100


def ssm(region):
    return boto3.client("ssm", region_name=region, endpoint_url=ENDPOINT,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def name(i):
    return f"/bench/app/p{i:05d}"


def put_all(region, items):
    """Create (name, k, tags) in `region`, in about this order (8 writers take them in turn); k picks the
    type (String, StringList, SecureString, Advanced String) and the value."""
    client = ssm(region)

    def put(item):
        nm, k, tags = item
        extra = {"Tier": "Advanced", "Description": "advanced"} if k % 4 == 3 else {}
        if tags:
            extra["Tags"] = tags
        client.put_parameter(Name=nm, Value=f"value-{k}", Type=KINDS[k % 4], **extra)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, items))


def seed(n):
    """N replicated parameters and N others in the source, interleaved; N of each target's own."""
    source = []
    for i in range(n):
        source.append((name(i), i, [REPLICATE, {"Key": "team", "Value": f"t{i % 7}"}]))
        if i % 2 == 0:
            source.append((f"/bench/app/own-p{i:05d}", i, []))
        else:
            source.append((f"/bench/other/q{i:05d}", i, [{"Key": "team", "Value": "x"}]))
    put_all(SOURCE, source)
    for region in TARGETS:
        put_all(region, [(f"/bench/app/local-p{i:05d}" if i % 2 == 0 else f"/local/app/p{i:05d}", i, [])
                         for i in range(n)])


def seed_sparse(total):
    """`total` parameters under /bench/app/ in the source, one in SPARSE_EVERY tagged replicate=yes; returns
    how many are replicated."""
    items = [(name(i), i // SPARSE_EVERY, [REPLICATE]) if i % SPARSE_EVERY == 0 else (name(i), i, [])
             for i in range(total)]
    put_all(SOURCE, items)
    return sum(1 for _, _, tags in items if tags)


def builds():
    """The AWS-behaviour proxy program (function/tests/aws_proxy.rs, test target aws-proxy), release build.

    Building a test target builds the package's binaries too, with the dev-dependencies' features, and
    puts them in target/release; the CLI is built again afterwards so that the one measured is the plain
    `cargo build --release` binary (both builds are cached: no recompilation when nothing changed)."""
    out = subprocess.run([CARGO, "test", "--release", "--locked", "--test", "aws-proxy", "--no-run",
                          "--message-format=json"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        sys.exit("bench: building the aws-proxy test target failed")
    if subprocess.run([CARGO, "build", "--release", "--locked", "--bins"], cwd=ROOT).returncode != 0:
        sys.exit("bench: building the release binaries failed")
    for line in out.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if (msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "aws-proxy"
                and msg.get("executable")):
            return msg["executable"]
    sys.exit("bench: cargo named no aws-proxy executable")


class AwsProxy:
    """One AWS-behaviour proxy (every behaviour on) in front of the emulator, serving until `stop`."""

    def __init__(self, executable, *extra):
        self.proc = subprocess.Popen([executable, "--serve", "--upstream", ENDPOINT, *extra], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening "):
            self.kill()
            sys.exit(f"bench: the aws-proxy did not start (it said {line!r})")
        self.url = line.split(maxsplit=1)[1]

    def stop(self):
        """Close its standard input (it stops serving); returns the empty pages its layer injected."""
        self.proc.stdin.close()
        rest = self.proc.stdout.read()
        if self.proc.wait() != 0:
            sys.exit(f"bench: the aws-proxy exited with status {self.proc.returncode}")
        for line in rest.splitlines():
            if line.startswith("empty-pages "):
                return int(line.split()[1])
        sys.exit("bench: the aws-proxy did not report its empty pages")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def peak_rss_mb(args, env=None):
    """Run a command (with `env`, if given); return (stdout, its peak RSS in MB).

    The peak is the process's own VmHWM (/proc/<pid>/status), polled until it exits. wait4's ru_maxrss is
    not used: Linux carries the pre-exec high-water mark of the forked child — a copy of this Python
    process, which grows with the seeded store — into it, which would misattribute Python's memory.
    """
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
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


def run_sync(n, proxy_exe):
    """One sync through a fresh AWS-behaviour proxy; figures per replicated parameter (`n` of them)."""
    args = [CLI, "sync", "--json", "--source-region", SOURCE, "--targets", ",".join(TARGETS),
            "--path", "/bench/", "--read-tps", "10000", "--write-tps", "10000"]
    time.sleep(SETTLE_S)  # what the previous run or step wrote is listed by now
    proxy = AwsProxy(proxy_exe)
    try:
        started = time.monotonic()
        out, rss = peak_rss_mb(args, env={**os.environ, "AWS_ENDPOINT_URL": proxy.url})
        wall = time.monotonic() - started
    except BaseException:
        proxy.kill()
        raise
    empty_pages = proxy.stop()
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
            "reads_wo_tags": reads_wo_tags / n, "describe": calls.get("DescribeParameters", 0) / n,
            "at_quotas": at_default_quotas(summary["api_calls"]), "summary": summary["summary"],
            "empty_pages": empty_pages}


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


def events(n, count, endpoint=None):
    """`count` update events through the release Lambda binary; its calls go to `endpoint` (a proxy) when
    given, else straight to the emulator. Returns (p50, p99) of ReplicationLatency and of the round trip."""
    extra = {"AWS_ENDPOINT_URL": endpoint} if endpoint else {}
    fn = Function({"TARGETS": ",".join(TARGETS), "RUST_LOG": "warn", **extra}, release=True)
    client = ssm(SOURCE)
    round_trips = []
    try:
        fn.invoke(change("Update", name(0)))  # warm the function (cold start excluded from latency)
        warm = len(emf_lines(fn.output()))
        for k in range(count):
            i = (k * 4) % n
            # A value of this run's own: a second run over the same names must still change them.
            client.put_parameter(Name=name(i), Value=f"event-{'far' if endpoint else 'near'}-{k}", Type="String",
                                 Overwrite=True)
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


def depths(proxy):
    """Sequential round trips per region since the proxy was last asked (it forgets them on answering)."""
    with urllib.request.urlopen(f"{proxy.url}/__proxy/depths") as answer:
        return json.loads(answer.read())


def depth_per_scenario(proxy):
    """The round-trip depth of one event per scenario, at the source and at each target, measured by the
    proxy from its requests' overlaps (not from time): create, update, replay (nothing to write), delete."""
    fn = Function({"TARGETS": ",".join(TARGETS), "RUST_LOG": "warn", "AWS_ENDPOINT_URL": proxy.url}, release=True)
    client = ssm(SOURCE)
    probe = "/bench/app/depth-probe"
    rows = []
    try:
        fn.invoke(change("Update", name(0)))  # cold start: STS, clients
        for scenario, write in [("create", lambda: client.put_parameter(
                                    Name=probe, Value="v1", Type="String", Tags=[{"Key": "replicate", "Value": "yes"}])),
                                ("update", lambda: client.put_parameter(Name=probe, Value="v2", Type="String",
                                                                        Overwrite=True)),
                                ("replay", lambda: None),
                                ("delete", lambda: client.delete_parameter(Name=probe))]:
            write()
            depths(proxy)  # forget what came before
            operation = {"create": "Create", "delete": "Delete"}.get(scenario, "Update")
            fn.invoke(change(operation, probe))
            d = depths(proxy)
            rows.append((scenario, d.get(SOURCE, 0), [d.get(t, 0) for t in TARGETS]))
    finally:
        fn.stop()
    return rows


def percentiles(values):
    values = sorted(values)
    return statistics.median(values), values[max(int(len(values) * 0.99) - 1, 0)]


def fmt_calls(per_param):
    return ", ".join(f"{SHORT.get(op, op)} {v:.2f}" for op, v in per_param.items())


def row(label, parameters, r, expected=""):
    return [label, parameters, f"{r['wall']:.1f}", fmt_seconds(r["at_quotas"]), f"{r['reads']:.3f}",
            f"{r['reads_wo_tags']:.3f}", f"{r['describe']:.3f}", fmt_calls(r["per_param"]),
            f"{r['writes']}{expected}", f"{r['rss']:.1f}"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--sparse", type=int, default=10000,
                        help="source parameters of the sparse selection (1%% replicated); 0 leaves it out")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    proxy_exe = builds()
    rows = []
    rss = {}
    empty = []
    for n in sizes:
        reset()
        t = time.monotonic()
        seed(n)
        print(f"seeded {n} replicated and {n} other parameters in {SOURCE}, {n} in each target, "
              f"in {time.monotonic() - t:.0f} s", file=sys.stderr)
        for label, prepare in [("first replication", None), ("nothing changed", None),
                               ("1% changed", lambda: change_values(n, n // 100))]:
            changed = prepare() if prepare else None
            r = run_sync(n, proxy_exe)
            expected = f" (expected {changed * len(TARGETS)})" if changed else ""
            rows.append(row(label, n, r, expected))
            rss.setdefault(n, []).append(r["rss"])
            empty.append(f"{label} {n}: {r['empty_pages']}")
            print(f"{label} N={n}: {r['summary']}", file=sys.stderr)
    # The events use the last size's store (its replicas exist); the sparse selection resets it afterwards.
    (p50, p99), (rt50, rt99) = events(sizes[0], args.events)
    # The same events with the targets a region away: every target request held TARGET_DELAY_MS.
    far = AwsProxy(proxy_exe, "--delay-ms", str(TARGET_DELAY_MS), "--delay-regions", ",".join(TARGETS))
    try:
        (f50, f99), (frt50, frt99) = events(sizes[0], args.events, far.url)
        scenarios = depth_per_scenario(far)
    finally:
        far.stop()
    if args.sparse > 0:
        reset()
        t = time.monotonic()
        replicated = seed_sparse(args.sparse)
        print(f"seeded {args.sparse} parameters in {SOURCE}, {replicated} replicated, "
              f"in {time.monotonic() - t:.0f} s", file=sys.stderr)
        for label in ["sparse 1%: first replication", "sparse 1%: nothing changed"]:
            r = run_sync(replicated, proxy_exe)
            rows.append(row(label, f"{replicated} of {args.sparse}", r))
            empty.append(f"{label} {replicated} of {args.sparse}: {r['empty_pages']}")
            print(f"{label}: {r['summary']}", file=sys.stderr)

    print(f"\nMeasured on {platform.machine()}, {os.cpu_count()} cores, against the moto server on 127.0.0.1 "
          f"behind the AWS-behaviour proxy (every behaviour on), 2 targets (us-east-2, eu-west-1); release build. "
          f"Each size N: N replicated parameters, N others in the source (untagged under the same prefix, or "
          f"tagged otherwise), N of the account's own in each target; per-parameter figures are per "
          f"replicated parameter.\n")
    print("| scenario | parameters | wall s | time at AWS default quotas (lower bound from call counts, "
          "not measured) | API calls/param (all but writes, tag reads included) | reads/param (no tags) "
          "| DescribeParameters/param | API calls per parameter | writes | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print(f"| {args.events} change events (Lambda binary, cargo-lambda runtime emulator, straight to the "
          f"emulator) | {sizes[0]} | ReplicationLatency (EMF) p50 {p50:.0f} ms, p99 {p99:.0f} ms; invoke round "
          f"trip p50 {rt50:.0f} ms, p99 {rt99:.0f} ms | | | | | | {2 * args.events} | |")
    print(f"\nChange events with the targets {TARGET_DELAY_MS} ms away (every target request held that long by the "
          f"proxy, as a cross-region call is; us-east-1 to eu-west-1 is about 75 ms), beside the same events "
          f"straight to the emulator; and the round trips one event makes, in sequence, per region (measured by "
          f"the proxy from its requests' overlaps, not from time):\n")
    print("| events | ReplicationLatency p50 | p99 | invoke round trip p50 | p99 |")
    print("|---|---:|---:|---:|---:|")
    print(f"| {args.events} updates, straight to the emulator | {p50:.0f} ms | {p99:.0f} ms | {rt50:.0f} ms | {rt99:.0f} ms |")
    print(f"| {args.events} updates, targets {TARGET_DELAY_MS} ms away | {f50:.0f} ms | {f99:.0f} ms | {frt50:.0f} ms "
          f"| {frt99:.0f} ms |")
    print("\n| scenario | sequential round trips at the source | at each target |")
    print("|---|---:|---|")
    for scenario, source, targets in scenarios:
        print(f"| {scenario} | {source} | {', '.join(f'{t} {d}' for t, d in zip(TARGETS, targets))} |")
    print(f"\nEmpty DescribeParameters pages the AWS-behaviour layer injected (counted in the calls above): "
          f"{'; '.join(empty)}.")
    if len(sizes) > 1:
        small, large = max(rss[sizes[0]]), max(rss[sizes[-1]])
        print(f"\nPeak RSS {sizes[-1]} vs {sizes[0]}: {large:.1f} MB vs {small:.1f} MB "
              f"({(large / small - 1) * 100:+.0f}%).")
    print("\nReproduce: `make bench` (sizes: `make bench BENCH_SIZES=1000,10000 BENCH_EVENTS=200 "
          "BENCH_SPARSE=10000`).")


if __name__ == "__main__":
    main()
