// The function's permissions, least privilege (DESIGN.md §3): reads in the source, writes only in the
// targets, both bounded by the path prefixes; KMS use only through SSM (kms:ViaService).
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

function viaSsm(regions: string[]): Record<string, unknown> {
  return { StringEquals: { 'kms:ViaService': regions.map((r) => `ssm.${r}.amazonaws.com`) } };
}

export const SOURCE_READ_ACTIONS = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:ListTagsForResource'];
export const TARGET_ACTIONS = [
  ...SOURCE_READ_ACTIONS,
  'ssm:PutParameter',
  'ssm:AddTagsToResource',
  'ssm:RemoveTagsFromResource',
  'ssm:DeleteParameter',
];

/** Every statement of the function's policy except logging and self-invocation (added by the stack). */
export function replicatorStatements(c: ReplicatorConfig, account: string, partition: string): iam.PolicyStatement[] {
  const everyRegion = [c.sourceRegion, ...c.targetRegions];
  return [
    new iam.PolicyStatement({
      sid: 'ReadSourceParameters',
      actions: SOURCE_READ_ACTIONS,
      resources: parameterArns(c, c.sourceRegion, account, partition),
    }),
    new iam.PolicyStatement({
      sid: 'WriteReplicas',
      actions: TARGET_ACTIONS,
      resources: c.targetRegions.flatMap((r) => parameterArns(c, r, account, partition)),
    }),
    // DescribeParameters has no resource-level permissions: "*" is the only possible resource.
    new iam.PolicyStatement({ sid: 'ListParameters', actions: ['ssm:DescribeParameters'], resources: ['*'] }),
    // Values are read with decryption in the source and (to compare) in the targets, only through SSM.
    new iam.PolicyStatement({
      sid: 'DecryptThroughSsm',
      actions: ['kms:Decrypt'],
      resources: keyArns(everyRegion, account, partition),
      conditions: viaSsm(everyRegion),
    }),
    new iam.PolicyStatement({
      sid: 'EncryptReplicasThroughSsm',
      actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
      resources: keyArns(c.targetRegions, account, partition),
      conditions: viaSsm(c.targetRegions),
    }),
    // The function checks that a target key exists and is enabled before writing a SecureString (SSM only
    // validates later in some cases). DescribeKey is called directly, so it cannot carry kms:ViaService.
    new iam.PolicyStatement({
      sid: 'CheckTargetKeys',
      actions: ['kms:DescribeKey'],
      resources: keyArns(c.targetRegions, account, partition),
    }),
  ];
}
