// The function's permissions, least privilege (DESIGN.md §3): reads in the source, writes only in the
// targets, both bounded by the path prefixes; no DeleteParameter unless deletes propagate; KMS use only
// through SSM (kms:ViaService) and only for the replicated parameters (SSM's encryption context).
import * as iam from 'aws-cdk-lib/aws-iam';
import { ReplicatorConfig, targetRoleArn } from './config';

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
  // Labels (REPLICATE_LABELS): mapped onto the replicas' versions. Both act on the parameter resource:
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
  'ssm:LabelParameterVersion',
  'ssm:UnlabelParameterVersion',
];

/** Label writes, needed only when labels are replicated. */
export const LABEL_ACTIONS = ['ssm:LabelParameterVersion', 'ssm:UnlabelParameterVersion'];

/**
 * The target actions this configuration needs: DeleteParameter only when the function may delete a replica —
 * deletes propagate, a replica is recreated (deleted, then created with its new type or tier), or a deselected
 * replica is pruned; label writes only when labels are replicated.
 */
export function targetActions(c: ReplicatorConfig): string[] {
  const deletes = c.deleteReplicas || c.recreateReplicas || c.pruneDeselected;
  return TARGET_ACTIONS.filter((a) => deletes || a !== 'ssm:DeleteParameter')
    .filter((a) => c.replicateLabels || !LABEL_ACTIONS.includes(a));
}

/**
 * What a writer of replicas needs in `regions` of `account`: read and write the parameters under the prefixes,
 * list (DescribeParameters), decrypt and encrypt through SSM for those parameters only, check keys. The
 * function's role holds these for the regions of its own account; the target role of another account holds
 * them for that account's target regions.
 */
export function replicaStatements(c: ReplicatorConfig, regions: string[], account: string, partition: string): iam.PolicyStatement[] {
  if (regions.length === 0) return [];
  const parameters = regions.flatMap((r) => parameterArns(c, r, account, partition));
  return [
    new iam.PolicyStatement({ sid: 'WriteReplicas', actions: targetActions(c), resources: parameters }),
    new iam.PolicyStatement({
      sid: 'DecryptReplicasThroughSsm',
      actions: ['kms:Decrypt'],
      resources: keyArns(regions, account, partition),
      conditions: viaSsmFor(regions, parameters),
    }),
    new iam.PolicyStatement({
      sid: 'EncryptReplicasThroughSsm',
      actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
      resources: keyArns(regions, account, partition),
      conditions: viaSsmFor(regions, parameters),
    }),
    // The function checks that a target key exists and is enabled before writing a SecureString. DescribeKey
    // is called directly, so it cannot carry kms:ViaService. Called with an alias, it is authorized on the key
    // the alias points to, never on the alias ("When an alias is the value of a resource element, the policy
    // applies to the alias resource, not to any KMS key that might be associated with it",
    // https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html): key/* here.
    new iam.PolicyStatement({ sid: 'CheckReplicaKeys', actions: ['kms:DescribeKey'], resources: keyArns(regions, account, partition) }),
  ];
}

/** Every statement of the function's policy except logging and self-invocation (added by the stack). */
export function replicatorStatements(c: ReplicatorConfig, account: string, partition: string): iam.PolicyStatement[] {
  const sourceParameters = parameterArns(c, c.sourceRegion, account, partition);
  const others = Object.keys(c.targetAccounts);
  return [
    new iam.PolicyStatement({ sid: 'ReadSourceParameters', actions: SOURCE_READ_ACTIONS, resources: sourceParameters }),
    // DescribeParameters has no resource-level permissions: "*" is the only possible resource.
    new iam.PolicyStatement({ sid: 'ListParameters', actions: ['ssm:DescribeParameters'], resources: ['*'] }),
    // The full sync reads source tags in bulk (the Resource Groups Tagging API's GetResources, by ARN). Read-only,
    // and without resource-level permissions ("Actions defined by Amazon Resource Group Tagging API",
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonresourcegrouptaggingapi.html),
    // so "*", held to the source region. Without it the function falls back to ListTagsForResource per parameter.
    new iam.PolicyStatement({
      sid: 'ReadSourceTagsInBulk',
      actions: ['tag:GetResources'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:RequestedRegion': c.sourceRegion } },
    }),
    // Source values are read with decryption, only through SSM and only for the replicated parameters.
    new iam.PolicyStatement({
      sid: 'DecryptSourceThroughSsm',
      actions: ['kms:Decrypt'],
      resources: keyArns([c.sourceRegion], account, partition),
      conditions: viaSsmFor([c.sourceRegion], sourceParameters),
    }),
    // Whether a source key given by id is the AWS managed aws/ssm key (its replicas then go on the target's
    // default key): DescribeKey in the source, authorized on the key (see replicaStatements).
    new iam.PolicyStatement({ sid: 'CheckSourceKeys', actions: ['kms:DescribeKey'], resources: keyArns([c.sourceRegion], account, partition) }),
    ...replicaStatements(c, c.targetRegions, account, partition),
    // Targets in other accounts: through the target role there, exactly those roles.
    ...(others.length === 0 ? [] : [new iam.PolicyStatement({
      sid: 'AssumeTargetRoles',
      actions: ['sts:AssumeRole'],
      resources: others.map((a) => targetRoleArn(c, a, partition)),
    })]),
  ];
}

/**
 * The target role's policy in another account: `replicaStatements` for that account's target regions, and
 * DescribeParameters (no resource-level permissions) only in those regions (aws:RequestedRegion,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-requestedregion).
 */
export function targetRoleStatements(c: ReplicatorConfig, regions: string[], account: string, partition: string): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'ListParameters',
      actions: ['ssm:DescribeParameters'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:RequestedRegion': regions } },
    }),
    ...replicaStatements(c, regions, account, partition),
  ];
}
