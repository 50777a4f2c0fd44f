"""Shared by the demo and the bench: the real `ssm-replicator-lambda` under `cargo lambda watch`
(cargo-lambda's Lambda runtime emulator), invoked over the Lambda invoke API, and event builders."""
import json
import os
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

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def envelope(detail_type, detail, resources=(), source="aws.ssm"):
    return {"version": "0", "id": "local", "detail-type": detail_type, "source": source, "account": ACCOUNT,
            "time": "2026-11-21T09:00:00Z", "region": SOURCE, "resources": list(resources), "detail": detail}


def change(operation, name, kind="String"):
    return envelope("Parameter Store Change", {"operation": operation, "name": name, "type": kind},
                    [f"arn:aws:ssm:{SOURCE}:{ACCOUNT}:parameter{name}"])


def scheduled():
    return envelope("Scheduled Event", {}, [f"arn:aws:events:{SOURCE}:{ACCOUNT}:rule/full-sync"], source="aws.events")
