#!/usr/bin/env bash
# `make test`'s deploy test: deploy the target stack into the other account of ENV=local and the real stack
# into this one (the emulator), check both through the AWS APIs, destroy them, check they are gone. Run under
# scripts/with-emulator --port 5000.
set -euo pipefail
cd "$(dirname "$0")/.."
# CloudFormation's template URL must name localhost: the literal 127.0.0.1 breaks moto's S3 URL parsing.
export AWS_ENDPOINT_URL=http://localhost:5000 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
make --no-print-directory deploy-targets ENV=local
.venv/bin/python scripts/deploy_check.py target-deployed 111111111111
make --no-print-directory deploy ENV=local EMULATOR=external
.venv/bin/python scripts/deploy_check.py deployed
make --no-print-directory destroy ENV=local EMULATOR=external
.venv/bin/python scripts/deploy_check.py destroyed
make --no-print-directory destroy-targets ENV=local
.venv/bin/python scripts/deploy_check.py target-destroyed 111111111111
