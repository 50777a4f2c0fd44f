// The function's permissions, least privilege (DESIGN.md §3): reads in the source, writes only in the
// targets, both bounded by the path prefixes; no DeleteParameter unless deletes propagate; KMS use only
// through SSM (kms:ViaService) and only for the replicated parameters (SSM's encryption context).
import * as iam from 'aws-cdk-lib/aws-iam';
import { ReplicatorConfig } from './config';

/** SSM parameter ARNs under the prefixes in `region` (`parameter/*` when there are none). */
export function parameterArns(c: ReplicatorConfig, region: string, account: string, partition: string): string[] {
  const base = `arn:${partition}:ssm:${region}:${account}:parameter`;
  if (c.pathPrefixes.length === 0) return [`${base}/*`];
  return c.pathPrefixes.flatMap((p) => {
    const trimmed = p.replace(/\/+$/, '');
    return [`${base}${trimmed}`, `${base}${trimmed}/*`];
  });
}

function keyArns(regions: string[], account: string, partition: string): string[] {
  return regions.map((r) => `arn:${partition}:kms:${r}:${account}:key/*`);
}

/**
 * Through SSM in these regions, for these parameters only. Parameter Store passes the parameter's ARN as the
 * encryption context (`PARAMETER_ARN`) when it encrypts or decrypts a SecureString value, so a key shared
 * with other parameters is usable here only for the replicated ones.
 * https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html (encryption context);
 * the condition key: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
 */
function viaSsmFor(regions: string[], parameters: string[]): Record<string, unknown> {
  return {
    StringEquals: { 'kms:ViaService': regions.map((r) => `ssm.${r}.amazonaws.com`) },
    StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameters },
  };
}

/**
 * Reads of one region's parameters: values (GetParameter, GetParameters, which also says which names do not
 * exist), one parameter's metadata (GetParameterHistory: DescribeParameters pages through the region before it
 * filters, so it is not used to look up one name) and tags.
 */
export const SOURCE_READ_ACTIONS = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParameterHistory', 'ssm:ListTagsForResource'];
/** Every action the function may need in a target region. */
export const TARGET_ACTIONS = [
  ...SOURCE_READ_ACTIONS,
  'ssm:PutParameter',
  'ssm:AddTagsToResource',
  'ssm:RemoveTagsFromResource',
  'ssm:DeleteParameter',
];

/** The target actions this configuration needs: DeleteParameter only when deletes propagate. */
export function targetActions(c: ReplicatorConfig): string[] {
  return TARGET_ACTIONS.filter((a) => c.deleteReplicas || a !== 'ssm:DeleteParameter');
}

/** Every statement of the function's policy except logging and self-invocation (added by the stack). */
export function replicatorStatements(c: ReplicatorConfig, account: string, partition: string): iam.PolicyStatement[] {
  const everyRegion = [c.sourceRegion, ...c.targetRegions];
  const targetParameters = c.targetRegions.flatMap((r) => parameterArns(c, r, account, partition));
  const everyParameter = everyRegion.flatMap((r) => parameterArns(c, r, account, partition));
  return [
    new iam.PolicyStatement({
      sid: 'ReadSourceParameters',
      actions: SOURCE_READ_ACTIONS,
      resources: parameterArns(c, c.sourceRegion, account, partition),
    }),
    new iam.PolicyStatement({
      sid: 'WriteReplicas',
      actions: targetActions(c),
      resources: targetParameters,
    }),
    // DescribeParameters has no resource-level permissions: "*" is the only possible resource.
    new iam.PolicyStatement({ sid: 'ListParameters', actions: ['ssm:DescribeParameters'], resources: ['*'] }),
    // Values are read with decryption in the source and (to compare) in the targets, only through SSM.
    new iam.PolicyStatement({
      sid: 'DecryptThroughSsm',
      actions: ['kms:Decrypt'],
      resources: keyArns(everyRegion, account, partition),
      conditions: viaSsmFor(everyRegion, everyParameter),
    }),
    new iam.PolicyStatement({
      sid: 'EncryptReplicasThroughSsm',
      actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
      resources: keyArns(c.targetRegions, account, partition),
      conditions: viaSsmFor(c.targetRegions, targetParameters),
    }),
    // The function checks that a target key exists and is enabled before writing a SecureString, and in the
    // source whether a key given by id is the AWS managed aws/ssm key (then the replica goes on the target's
    // default key). DescribeKey is called directly, so it cannot carry kms:ViaService. Called with an alias,
    // it is authorized on the key the alias points to, never on the alias ("When an alias is the value of a
    // resource element, the policy applies to the alias resource, not to any KMS key that might be associated
    // with it", https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html): key/* here.
    new iam.PolicyStatement({
      sid: 'CheckKeys',
      actions: ['kms:DescribeKey'],
      resources: keyArns(everyRegion, account, partition),
    }),
  ];
}
