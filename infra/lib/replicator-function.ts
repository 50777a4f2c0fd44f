// The Rust function (built by cargo-lambda), its role, log group and asynchronous invocation settings.
import * as path from 'path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { ReplicatorConfig, functionEnvironment, sourceRoleName, targetName } from './config';
import { replicatorStatements } from './permissions';

// The workspace manifest: the function crate inherits from it (edition, lints) and the lockfile is the
// workspace's. Docker bundling mounts the manifest's directory, so it must be the repository root.
export const MANIFEST = path.join(__dirname, '..', '..', 'Cargo.toml');
export const BINARY = 'ssm-replicator-lambda';

export interface ReplicatorFunctionProps {
  readonly config: ReplicatorConfig;
  /** Where invocations that failed after Lambda's retries go. */
  readonly failedInvocations: sqs.IQueue;
  /** Build in the cargo-lambda Docker image instead of with the local cargo-lambda. */
  readonly dockerBundling?: boolean;
}

export class ReplicatorFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ReplicatorFunctionProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const otherAccounts = Object.keys(config.targetAccounts).length > 0;
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'ssm-replicator: read the source region, write replicas in the target regions',
      // The target roles of other accounts trust exactly this role by name (see target-stack.ts).
      roleName: otherAccounts ? sourceRoleName(config) : undefined,
    });
    const policy = new iam.Policy(this, 'Policy', {
      statements: [
        ...replicatorStatements(config, stack.account, stack.partition),
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn],
        }),
      ],
    });
    this.role.attachInlinePolicy(policy);

    this.function = new RustFunction(this, 'Function', {
      manifestPath: MANIFEST,
      binaryName: BINARY,
      architecture: lambda.Architecture.ARM_64,
      runtime: 'provided.al2023',
      bundling: {
        architecture: lambda.Architecture.ARM_64,
        // Without the `cli` feature: the Lambda does not compile the command-line tool's crates (clap, indicatif).
        cargoLambdaFlags: ['--locked', '--no-default-features'],
        forcedDockerBundling: props.dockerBundling ?? false,
      },
      role: this.role,
      logGroup: this.logGroup,
      memorySize: 512,
      // A full sync hands on before the deadline (FULL_SYNC_RESERVE_SECONDS); the maximum gives it room.
      timeout: Duration.minutes(15),
      reservedConcurrentExecutions: config.reservedConcurrency,
      environment: functionEnvironment(config),
      description: `ssm-replicator (${config.name}): ${config.sourceRegion} → ${config.targets.map(targetName).join(', ')}`,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(props.failedInvocations),
    });
    this.function.node.addDependency(policy);

    // A full sync that runs out of time invokes the function itself with its cursor.
    const selfInvoke = new iam.Policy(this, 'HandOffPolicy', {
      statements: [
        new iam.PolicyStatement({
          sid: 'HandOffFullSync',
          actions: ['lambda:InvokeFunction'],
          resources: [this.function.functionArn],
        }),
      ],
    });
    this.role.attachInlinePolicy(selfInvoke);
  }
}
