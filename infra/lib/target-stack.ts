// The stack deployed once into every other target account: the role the replicator assumes there.
//
// Trust: this account's root principal, conditioned on the caller being exactly the replicator's role in the
// source account (aws:PrincipalArn). Naming the role ARN as the Principal instead would fail to deploy
// before the source stack exists ("Invalid principal in policy": IAM resolves a role principal to its unique
// id when the policy is saved) and would silently stop matching if that role were ever recreated
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles).
// The account principal delegates to the source account, where only that role may assume (its own policy
// names this role's ARN); aws:PrincipalArn pins the caller here as well
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
import { Aws, DefaultStackSynthesizer, Duration, Stack, StackProps, Tags, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ReplicatorConfig, sourceRoleName } from './config';
import { secretArns, targetRoleStatements } from './permissions';

export interface TargetStackProps extends StackProps {
  readonly config: ReplicatorConfig;
  /** The target account this stack is deployed into. */
  readonly targetAccount: string;
}

/** The stack name of `account`'s target stack for an environment. */
export const targetStackName = (env: string, account: string) => `SsmReplicatorTarget-${env}-${account}`;

export class TargetStack extends Stack {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TargetStackProps) {
    const { config, targetAccount } = props;
    const regions = config.targetAccounts[targetAccount];
    if (!regions || regions.length === 0) throw new Error(`no target in account ${targetAccount}`);
    // IAM is global: the stack lives in the source region of the target account, a home that does not move
    // when targets are added, removed or reordered (a second stack elsewhere could not create the same
    // role name). No bootstrap version rule: the template has no asset, and it must also deploy through a
    // StackSet into accounts that were never bootstrapped for CDK.
    super(scope, id, {
      description: `ssm-replicator (${config.name}): the role the replicator in ${config.account} writes replicas with`,
      ...props,
      env: { account: targetAccount, region: config.sourceRegion },
      terminationProtection: config.terminationProtection,
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    });
    Tags.of(this).add('project', 'ssm-replicator');
    Tags.of(this).add('environment', config.name);

    const replicatorRole = `arn:${this.partition}:iam::${config.account}:role/${sourceRoleName(config)}`;
    // Operators who run the CLI against this account (e.g. SSO roles) are added by ARN pattern.
    const trusted = config.extraTrustedPrincipals.length === 0
      ? { ArnEquals: { 'aws:PrincipalArn': replicatorRole } }
      : { ArnLike: { 'aws:PrincipalArn': [replicatorRole, ...config.extraTrustedPrincipals] } };
    this.role = new iam.Role(this, 'TargetRole', {
      roleName: config.targetRoleName,
      assumedBy: new iam.AccountPrincipal(config.account).withConditions(trusted),
      maxSessionDuration: Duration.hours(1),
      description: `ssm-replicator (${config.name}): assumed by ${sourceRoleName(config)} in ${config.account} to write replicas in ${regions.join(', ')}`,
      inlinePolicies: {
        // The account as the AWS::AccountId pseudo parameter: the template names no target account, so the
        // same template also serves a StackSet deployed into many accounts (README "Other accounts").
        Replicas: new iam.PolicyDocument({ statements: targetRoleStatements(config, regions, Aws.ACCOUNT_ID, this.partition) }),
      },
    });
    this.acknowledgeFindings(config, regions);
  }

  /** cdk-nag findings that are intended, each with its reason. */
  private acknowledgeFindings(config: ReplicatorConfig, regions: string[]): void {
    const partition = Token.isUnresolved(this.partition) ? '<AWS::Partition>' : this.partition;
    const account = '<AWS::AccountId>';
    NagSuppressions.addResourceSuppressionsByPath(this, `/${this.stackName}/TargetRole/Resource`, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'ssm:DescribeParameters and tag:GetResources have no resource-level permissions (limited to the target regions by aws:RequestedRegion); parameters are scoped to the configured path prefixes per target region; KMS keys are scoped per region and usable only through SSM (kms:ViaService) for those parameters, except DescribeKey, which only checks that a key exists.'
          + (config.secrets.enabled ? ' Secret copies are scoped to the configured name prefixes per target region; their keys are usable only through Secrets Manager (kms:ViaService) for those copies. secretsmanager:ListSecrets (with deletes on: finding copies whose source is gone) has no resource-level permissions and is limited to the target regions by aws:RequestedRegion.' : ''),
        appliesTo: [
          'Resource::*',
          ...regions.map((r) => `Resource::arn:${partition}:kms:${r}:${account}:key/*`),
          ...regions.flatMap((r) => config.pathPrefixes.length === 0
            ? [`Resource::arn:${partition}:ssm:${r}:${account}:parameter/*`]
            : config.pathPrefixes.map((p) => `Resource::arn:${partition}:ssm:${r}:${account}:parameter${p.replace(/\/+$/, '')}/*`)),
          ...(config.secrets.enabled
            ? regions.flatMap((r) => secretArns(config, r, account, partition).map((arn) => `Resource::${arn}`))
            : []),
        ],
      },
    ]);
  }
}
