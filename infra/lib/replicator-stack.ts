// One stack: the function with its role, the rules, the dead-letter queues, monitoring, and optionally a
// full sync after each deploy.
import { createHash } from 'crypto';
import { Lazy, RemovalPolicy, Stack, StackProps, Tags, Token } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ReplicatorConfig } from './config';
import { Monitoring } from './monitoring';
import { secretArns } from './permissions';
import { deadLetterQueue } from './queues';
import { ReplicatorFunction } from './replicator-function';
import { ReplicatorRules } from './rules';
import { dropRedundantRoleDependencies } from './template-hygiene';

export interface ReplicatorStackProps extends StackProps {
  readonly config: ReplicatorConfig;
  /** Build the function in the cargo-lambda Docker image (`-c bundling=docker`). */
  readonly dockerBundling?: boolean;
}

export class ReplicatorStack extends Stack {
  readonly replicator: ReplicatorFunction;

  constructor(scope: Construct, id: string, props: ReplicatorStackProps) {
    super(scope, id, { terminationProtection: props.config.terminationProtection, ...props });
    const { config } = props;
    // On every taggable resource of the stack (and the stack itself).
    Tags.of(this).add('project', 'ssm-replicator');
    Tags.of(this).add('environment', config.name);

    const ruleDeadLetters = deadLetterQueue(this, 'RuleDeadLetters');
    const failedInvocations = deadLetterQueue(this, 'FailedInvocations');
    this.replicator = new ReplicatorFunction(this, 'Replicator', { config, failedInvocations, dockerBundling: props.dockerBundling });
    new ReplicatorRules(this, 'Rules', { config, function: this.replicator.function, deadLetters: ruleDeadLetters });
    new Monitoring(this, 'Monitoring', {
      config,
      function: this.replicator.function,
      logGroup: this.replicator.logGroup,
      queues: [
        { name: 'RuleDeadLetters', queue: ruleDeadLetters },
        { name: 'FailedInvocations', queue: failedInvocations },
      ],
    });

    if (config.initialSync) this.initialFullSync(config);

    this.acknowledgeFindings(ruleDeadLetters.node.path, failedInvocations.node.path, config);
    dropRedundantRoleDependencies(this);
  }

  /**
   * A full sync after each deploy that changes the function's code or configuration, and only then: the
   * custom resource's physical id is a digest of the function's rendered properties (code asset hash,
   * environment, memory, timeout, role…), so a deploy or `cdk diff` with nothing changed shows no change.
   */
  private initialFullSync(config: ReplicatorConfig): void {
    const fn = this.replicator.function;
    const cfnFunction = fn.node.defaultChild as lambda.CfnFunction;
    const digest = Lazy.string({
      produce: () => {
        const rendered = this.resolve((cfnFunction as any)._toCloudFormation());
        return createHash('sha256').update(JSON.stringify(rendered)).digest('hex').slice(0, 16);
      },
    });
    const sync = {
      service: 'Lambda',
      action: 'invoke',
      parameters: {
        FunctionName: fn.functionName,
        InvocationType: 'Event',
        Payload: JSON.stringify({ action: 'full-sync' }),
      },
      physicalResourceId: cr.PhysicalResourceId.of(`full-sync-${digest}`),
    };
    // The provider function's own role and log group, scoped like the replicator's: no AWS managed policy.
    const logGroup = new logs.LogGroup(this, 'InitialFullSyncLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'InitialFullSyncRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'ssm-replicator: the initial full sync custom resource (invokes the function once per change)',
      inlinePolicies: {
        OwnLogs: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({
            sid: 'WriteOwnLogs',
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            resources: [logGroup.logGroupArn],
          })],
        }),
      },
    });
    new cr.AwsCustomResource(this, 'InitialFullSync', {
      onCreate: sync,
      onUpdate: sync,
      installLatestAwsSdk: false,
      role,
      logGroup,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }),
      ]),
    });
  }

  /** cdk-nag findings that are intended, each with its reason. */
  private acknowledgeFindings(ruleDlq: string, failedDlq: string, config: ReplicatorConfig): void {
    const policy = `/${this.stackName}/Replicator/Policy/Resource`;
    // cdk-nag names resources as they are rendered: a literal account, or <AWS::AccountId> when unresolved.
    const account = Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account;
    const partition = Token.isUnresolved(this.partition) ? '<AWS::Partition>' : this.partition;
    const wildcards = [
      'Resource::*',
      `Resource::arn:${partition}:kms:${config.sourceRegion}:${account}:key/*`,
      ...config.targetRegions.map((r) => `Resource::arn:${partition}:kms:${r}:${account}:key/*`),
      ...[config.sourceRegion, ...config.targetRegions].flatMap((r) =>
        config.pathPrefixes.length === 0
          ? [`Resource::arn:${partition}:ssm:${r}:${account}:parameter/*`]
          : config.pathPrefixes.map((p) => `Resource::arn:${partition}:ssm:${r}:${account}:parameter${p.replace(/\/+$/, '')}/*`)),
      // Secrets: ARN patterns under the name prefixes (a secret's ARN ends in its name and a random suffix).
      ...(config.secrets.enabled
        ? [config.sourceRegion, ...config.targetRegions].flatMap((r) =>
          secretArns(config, r, account, partition).map((arn) => `Resource::${arn}`))
        : []),
    ];
    const secrets = config.secrets.enabled
      ? ' Secrets: secretsmanager:ListSecrets has no resource-level permissions either (held to the source region); secrets are scoped to the configured name prefixes per region; their keys are usable only through Secrets Manager (kms:ViaService) for those secrets.'
      : '';
    NagSuppressions.addResourceSuppressionsByPath(this, policy, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'ssm:DescribeParameters and tag:GetResources (the latter held to the source and target regions) have no resource-level permissions; parameters are scoped to the configured path prefixes per region; KMS keys are scoped per region and usable only through SSM (kms:ViaService), except DescribeKey, which only checks that a target key exists.' + secrets,
        appliesTo: wildcards,
      },
    ]);
    for (const path of [ruleDlq, failedDlq]) {
      NagSuppressions.addResourceSuppressionsByPath(this, `/${path}/Resource`, [
        { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue; its alarm reports every message.' },
      ]);
    }
    if (config.initialSync) {
      NagSuppressions.addResourceSuppressionsByPath(this, `/${this.stackName}/AWS679f53fac002430cb0da5b7982bd2287/Resource`, [
        { id: 'AwsSolutions-L1', reason: 'The AwsCustomResource handler runtime is chosen by aws-cdk-lib and moves with it.' },
      ]);
    }
  }
}
