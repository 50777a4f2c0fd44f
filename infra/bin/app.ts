#!/usr/bin/env node
// The CDK app: `cdk synth|diff|deploy|destroy -c env=NAME` with NAME one of infra/environments/*.json.
// `-c env=dev,prod` puts both stacks into one cloud assembly (CI synthesizes once, deploys it twice).
// `-c bundling=docker` builds the function in the cargo-lambda Docker image instead of locally.
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { missingBuildTools } from '../lib/build-tools';
import { ConfigError, ENVIRONMENTS_DIR, loadEnvironment } from '../lib/config';
import { ReplicatorStack } from '../lib/replicator-stack';
import { TargetStack, targetStackName } from '../lib/target-stack';

const app = new App();
const envName: unknown = app.node.tryGetContext('env');
try {
  if (typeof envName !== 'string') {
    throw new ConfigError('choose an environment with -c env=NAME (one of infra/environments/*.json, e.g. dev, prod, local)');
  }
  const dir: unknown = app.node.tryGetContext('environmentsDir');
  const configs = envName.split(',').map((n) => loadEnvironment(n.trim(), typeof dir === 'string' ? dir : ENVIRONMENTS_DIR));
  const bundling: unknown = app.node.tryGetContext('bundling') ?? 'local';
  if (bundling !== 'local' && bundling !== 'docker') {
    throw new ConfigError(`-c bundling=${String(bundling)}: expected local (cargo-lambda, the default) or docker`);
  }
  // The CLI bundles for synth, diff, deploy and watch, not for destroy or list (it passes an empty list);
  // unit tests skip bundling the same way.
  const stacksToBundle: unknown = app.node.tryGetContext('aws:cdk:bundling-stacks');
  // Only the replicator's stack has an asset to build: target stacks alone (make deploy-targets) need no tools.
  const bundles = !(Array.isArray(stacksToBundle)
    && stacksToBundle.every((s) => typeof s === 'string' && s.startsWith('SsmReplicatorTarget-')));
  if (bundles && bundling === 'local') {
    const missing = missingBuildTools();
    if (missing.length > 0) {
      throw new ConfigError(
        `cannot build the Lambda function: missing ${missing.join('; ')}. The make targets put .venv/bin on PATH ` +
        '(for plain `npx cdk ...`: `make setup && export PATH="$PWD/.venv/bin:$PATH"`), or add -c bundling=docker ' +
        'to build in the cargo-lambda Docker image.');
    }
  }
  for (const config of configs) {
    new ReplicatorStack(app, `SsmReplicator-${config.name}`, {
      env: { account: config.account, region: config.sourceRegion },
      config,
      dockerBundling: bundling === 'docker',
      description: `ssm-replicator (${config.name}): Parameter Store replication from ${config.sourceRegion}`,
    });
    // One stack per other target account: the role the function assumes there (make deploy-targets).
    for (const account of Object.keys(config.targetAccounts)) {
      new TargetStack(app, targetStackName(config.name, account), { config, targetAccount: account });
    }
  }
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`ssm-replicator: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
