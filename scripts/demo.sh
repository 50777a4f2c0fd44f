#!/usr/bin/env bash
# `make demo`, run under scripts/with-emulator --port 5000: deploy the real stack (ENV=local) into the
# emulator, then run scripts/demo.py against what was deployed. with-emulator stops the emulator after.
set -euo pipefail
cd "$(dirname "$0")/.."
# CloudFormation's template URL must name localhost: the literal 127.0.0.1 breaks moto's S3 URL parsing.
export AWS_ENDPOINT_URL=http://localhost:5000 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
# `make demo` is a fresh clone's first command: nothing may assume another target created .cache/.
mkdir -p .cache
cdk_args=""
if [ -n "${DEMO_TARGET_REGIONS:-}" ]; then
  # The same environment file with other targets, in a directory of its own.
  dir=.cache/demo-environments
  mkdir -p "$dir"
  .venv/bin/python - "$DEMO_TARGET_REGIONS" "$dir/local.json" <<'PY'
import json, sys
env = json.load(open("infra/environments/local.json"))
env["targets"] = [r for r in sys.argv[1].split(",") if r]
json.dump(env, open(sys.argv[2], "w"), indent=2)
PY
  cdk_args="-c environmentsDir=$PWD/$dir"
  envs_dir="$dir"
fi
# The target stacks first (the role in each other target account), then the stack whose function assumes them.
echo "== deploying the target stacks into their accounts (make deploy-targets ENV=local)"
make --no-print-directory deploy-targets ENV=local CDK_ARGS="$cdk_args" ENVIRONMENTS_DIR="${envs_dir:-infra/environments}" \
  >.cache/demo-deploy-targets.log 2>&1 || {
  cat .cache/demo-deploy-targets.log >&2
  echo "Demo FAILED: the target stacks did not deploy into the emulator (log above)" >&2
  exit 1
}
grep -E '^== |✅' .cache/demo-deploy-targets.log || true
echo "== deploying the stack SsmReplicator-local into the emulator (make deploy ENV=local)"
make --no-print-directory deploy ENV=local EMULATOR=external CDK_ARGS="$cdk_args" >.cache/demo-deploy.log 2>&1 || {
  cat .cache/demo-deploy.log >&2
  echo "Demo FAILED: the stack did not deploy into the emulator (log above)" >&2
  exit 1
}
tail -n 4 .cache/demo-deploy.log
exec .venv/bin/python scripts/demo.py
