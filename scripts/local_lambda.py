"""Shared by the demo and the bench: the real `ssm-replicator-lambda` under `cargo lambda watch`
(cargo-lambda's Lambda runtime emulator), invoked over the Lambda invoke API, and event builders."""
import json
import os
from datetime import datetime, timezone
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ACCOUNT = "123456789012"
SOURCE = "us-east-1"


class LocalLambdaError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Function:
    """`cargo lambda watch` running the real binary; invoked over the Lambda invoke API."""

    def __init__(self, environment, release=False):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="ssm-replicator-lambda-", suffix=".log", delete=False)
        env = {**os.environ, "AWS_REGION": SOURCE, "RUST_LOG": "info", **environment}
        self.proc = subprocess.Popen(
            ["cargo", "lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", str(self.port),
             "--timeout", "900", "--bin", "ssm-replicator-lambda", *(["--release"] if release else [])],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(600):
            if self.proc.poll() is not None:
                raise LocalLambdaError(f"cargo lambda watch exited; see {self.log.name}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise LocalLambdaError("cargo lambda watch did not start within 120 s")

    def invoke(self, event):
        url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/ssm-replicator-lambda/invocations"
        req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                body = json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"null")
        if isinstance(body, dict) and "errorMessage" in body:
            raise LocalLambdaError(f"the function failed: {body['errorMessage']}")
        return body

    def output(self):
        """Everything the function (and cargo-lambda) has printed so far."""
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def now_rfc3339():
    """The current time as EventBridge writes an event's `time` (RFC 3339, UTC), to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(detail_type, detail, resources=(), source="aws.ssm"):
    """An EventBridge envelope stamped now: the function measures its ReplicationLatency from `time`."""
    return {"version": "0", "id": "local", "detail-type": detail_type, "source": source, "account": ACCOUNT,
            "time": now_rfc3339(), "region": SOURCE, "resources": list(resources), "detail": detail}


def change(operation, name, kind="String"):
    return envelope("Parameter Store Change", {"operation": operation, "name": name, "type": kind},
                    [f"arn:aws:ssm:{SOURCE}:{ACCOUNT}:parameter{name}"])


def emf_lines(text):
    """The CloudWatch EMF documents among the function's output lines (cargo-lambda may prefix a line)."""
    docs = []
    for line in text.splitlines():
        start = line.find('{"')
        if start < 0 or '"_aws"' not in line:
            continue
        try:
            doc = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(doc, dict) and "CloudWatchMetrics" in doc.get("_aws", {}):
            docs.append(doc)
    return docs


def scheduled():
    return envelope("Scheduled Event", {}, [f"arn:aws:events:{SOURCE}:{ACCOUNT}:rule/full-sync"], source="aws.events")
