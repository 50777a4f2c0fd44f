#!/usr/bin/env node
// The CDK app: `cdk synth|diff|deploy|destroy -c env=NAME` with NAME one of infra/environments/*.json.
// `-c env=dev,prod` puts both stacks into one cloud assembly (CI synthesizes once, deploys it twice).
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, ENVIRONMENTS_DIR, loadEnvironment } from '../lib/config';
import { ReplicatorStack } from '../lib/replicator-stack';

const app = new App();
const envName: unknown = app.node.tryGetContext('env');
try {
  if (typeof envName !== 'string') {
    throw new ConfigError('choose an environment with -c env=NAME (one of infra/environments/*.json, e.g. dev, prod, local)');
  }
  const dir: unknown = app.node.tryGetContext('environmentsDir');
  for (const name of envName.split(',').map((n) => n.trim())) {
    const config = loadEnvironment(name, typeof dir === 'string' ? dir : ENVIRONMENTS_DIR);
    new ReplicatorStack(app, `SsmReplicator-${config.name}`, {
      env: { account: config.account, region: config.sourceRegion },
      config,
      description: `ssm-replicator (${config.name}): Parameter Store replication from ${config.sourceRegion}`,
    });
  }
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`ssm-replicator: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
