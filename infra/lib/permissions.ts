// The function's permissions, least privilege (DESIGN.md §3): reads in the source, writes only in the
// targets, both bounded by the path prefixes; no DeleteParameter unless deletes propagate; KMS use only
// through SSM (kms:ViaService) and only for the replicated parameters (SSM's encryption context). Secrets
// (when enabled) likewise: bounded by the secret name prefixes, KMS only through Secrets Manager.
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

/**
 * Secret ARNs under the name prefixes in `region`. A secret's ARN is its name followed by a hyphen and six
 * random characters (`arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-a1b2c3`), so `PREFIX*`
 * covers every secret whose name starts with the prefix; the resource type `secret`:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html#awssecretsmanager-resources-for-iam-policies
 */
export function secretArns(c: ReplicatorConfig, region: string, account: string, partition: string): string[] {
  return c.secrets.namePrefixes.map((p) => `arn:${partition}:secretsmanager:${region}:${account}:secret:${p}*`);
}

/**
 * Through Secrets Manager in these regions, for these secrets only. "To allow the KMS key to be used only for
 * requests that originate in Secrets Manager, you can use the kms:ViaService condition key with the
 * secretsmanager.<Region>.amazonaws.com value"; Secrets Manager's encryption context names the secret
 * (`SecretARN`) in its GenerateDataKey and Decrypt requests, including the ones that validate a key when a
 * secret is given one: https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
 */
function viaSecretsManagerFor(regions: string[], secrets: string[]): Record<string, unknown> {
  return {
    StringEquals: { 'kms:ViaService': regions.map((r) => `secretsmanager.${r}.amazonaws.com`) },
    StringLike: { 'kms:EncryptionContext:SecretARN': secrets },
  };
}

/**
 * What a copy of a secret in another account needs there (CreateSecret if missing, then PutSecretValue with the
 * source's version id; description, key and tags kept in step; AWSCURRENT moved back with the source
 * (UpdateSecretVersionStage); a copy scheduled for deletion whose source came back restored (RestoreSecret)).
 * DeleteSecret is separate (secretCopyStatements).
 */
export const SECRET_COPY_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:CreateSecret',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecret',
  'secretsmanager:UpdateSecretVersionStage',
  'secretsmanager:RestoreSecret',
  'secretsmanager:TagResource',
  'secretsmanager:UntagResource',
];

/**
 * The function's own-account statements for secrets (none unless secrets are enabled): list and read the source
 * secrets, switch on native replication to the target regions of this account, see a same-name secret there,
 * and use keys only through Secrets Manager. The copies into other accounts go through the target roles
 * (secretCopyStatements), for which the function reads the source values.
 */
export function sourceSecretStatements(c: ReplicatorConfig, account: string, partition: string): iam.PolicyStatement[] {
  if (!c.secrets.enabled) return [];
  const source = secretArns(c, c.sourceRegion, account, partition);
  const replicas = c.targetRegions.flatMap((r) => secretArns(c, r, account, partition));
  const ownRegions = [c.sourceRegion, ...c.targetRegions];
  const copies = Object.keys(c.targetAccounts).length > 0;
  const native = c.targetRegions.length > 0;
  return [
    // ListSecrets supports no resource-level permissions (the Service Authorization Reference lists no resource
    // type for it, so "*" is the only possible resource,
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html). Read-only
    // (names, tags, metadata; never values), held to the source region, where the full sync lists.
    new iam.PolicyStatement({
      sid: 'ListSecrets',
      actions: ['secretsmanager:ListSecrets'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:RequestedRegion': c.sourceRegion } },
    }),
    // DescribeSecret: metadata, tags, version ids and replica status. GetSecretValue only when values are
    // copied into other accounts: native replication within this account never hands the value to the caller.
    // Both act on the secret resource (Service Authorization Reference, as above).
    new iam.PolicyStatement({
      sid: 'ReadSourceSecrets',
      actions: ['secretsmanager:DescribeSecret', ...(copies ? ['secretsmanager:GetSecretValue'] : [])],
      resources: source,
    }),
    // "Required permissions: secretsmanager:ReplicateSecretToRegions. If the primary secret is encrypted with a
    // KMS key other than aws/secretsmanager, you also need kms:Decrypt permission to the key. To encrypt the
    // replicated secret with a KMS key other than aws/secretsmanager, you need kms:GenerateDataKey and
    // kms:Encrypt to the key" — no permission on the replica in its region,
    // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicateSecretToRegions.html
    ...(native ? [
      // Only to this account's target regions, and overwriting a same-name secret there only when adoption
      // is on: the condition keys secretsmanager:AddReplicaRegions and secretsmanager:ForceOverwriteReplicaSecret
      // (https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets-permissions.html,
      // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html).
      new iam.PolicyStatement({
        sid: 'ReplicateSourceSecrets',
        actions: ['secretsmanager:ReplicateSecretToRegions'],
        resources: source,
        conditions: {
          'ForAllValues:StringEquals': { 'secretsmanager:AddReplicaRegions': c.targetRegions },
          // IfExists: an absent flag means no overwrite too (the code always sends it).
          ...(c.adoptUnmanaged ? {} : { BoolIfExists: { 'secretsmanager:ForceOverwriteReplicaSecret': 'false' } }),
        },
      }),
      // A secret of the same name already in a target region (unmanaged: reported, overwritten only with
      // ADOPT_UNMANAGED through ForceOverwriteReplicaSecret) is seen with DescribeSecret there.
      new iam.PolicyStatement({ sid: 'ReadReplicaSecrets', actions: ['secretsmanager:DescribeSecret'], resources: replicas }),
    ] : []),
    // The source key: GetSecretValue decrypts, and so does replication (the Decrypt quoted above). AWS does not
    // say which region's Secrets Manager endpoint makes the KMS calls of a replication, so every region of this
    // account involved is allowed, always through Secrets Manager and for the replicated secrets only.
    new iam.PolicyStatement({
      sid: 'DecryptSourceSecretsThroughSecretsManager',
      actions: ['kms:Decrypt'],
      resources: keyArns([c.sourceRegion], account, partition),
      conditions: viaSecretsManagerFor(ownRegions, [...source, ...replicas]),
    }),
    // The replica keys in the target regions: GenerateDataKey and Encrypt (quoted above), and Decrypt, which
    // Secrets Manager calls with GenerateDataKey to validate a key it is given ("When you establish or change
    // the KMS key that is associated with secret, Secrets Manager calls the GenerateDataKey and Decrypt
    // operations with the specified KMS key", security-encryption.html, as above).
    ...(native ? [new iam.PolicyStatement({
      sid: 'EncryptReplicaSecretsThroughSecretsManager',
      actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      resources: keyArns(c.targetRegions, account, partition),
      conditions: viaSecretsManagerFor(ownRegions, [...source, ...replicas]),
    })] : []),
  ];
}

/**
 * The target role's statements for secret copies in another account's `regions` (none unless secrets are
 * enabled): write the copies under the prefixes; DeleteSecret only when deletes propagate, and never without a
 * recovery window; keys only through Secrets Manager in those regions, for those copies.
 */
export function secretCopyStatements(c: ReplicatorConfig, regions: string[], account: string, partition: string): iam.PolicyStatement[] {
  if (!c.secrets.enabled || regions.length === 0) return [];
  const copies = regions.flatMap((r) => secretArns(c, r, account, partition));
  return [
    // Each acts on the secret resource (CreateSecret too: the ARN of the secret it creates),
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
    new iam.PolicyStatement({ sid: 'WriteSecretCopies', actions: SECRET_COPY_ACTIONS, resources: copies }),
    // A deleted source schedules the deletion of its owned copies, with the recovery window: the condition key
    // secretsmanager:ForceDeleteWithoutRecovery (DeleteSecret's condition keys, Service Authorization Reference
    // as above) must be false or absent, so a deletion without recovery is denied even if ever asked for.
    ...(c.deleteReplicas ? [new iam.PolicyStatement({
      sid: 'DeleteSecretCopies',
      actions: ['secretsmanager:DeleteSecret'],
      resources: copies,
      conditions: { BoolIfExists: { 'secretsmanager:ForceDeleteWithoutRecovery': 'false' } },
    }),
    // The full sync finds copies whose source is gone by listing the copies (filtered on the ownership tag
    // key) in this account's target regions. ListSecrets has no resource-level permissions ("*" only, as for
    // the source role), so it is held to those regions; it returns metadata and tags, never values.
    new iam.PolicyStatement({
      sid: 'ListSecretCopies',
      actions: ['secretsmanager:ListSecrets'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:RequestedRegion': regions } },
    })] : []),
    // "To update the secret, the user must have both kms:Decrypt and kms:GenerateDataKey permission"; Encrypt
    // for a key given to CreateSecret/UpdateSecret ("If you don't have kms:Encrypt permission to the new key,
    // Secrets Manager does not re-encrypt existing secret versions",
    // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html, KmsKeyId);
    // through Secrets Manager only: security-encryption.html (see viaSecretsManagerFor).
    new iam.PolicyStatement({
      sid: 'UseSecretCopyKeysThroughSecretsManager',
      actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      resources: keyArns(regions, account, partition),
      conditions: viaSecretsManagerFor(regions, copies),
    }),
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
    // The full sync reads source and replica tags in bulk (the Resource Groups Tagging API's GetResources, by
    // ARN). Read-only, and without resource-level permissions ("Actions defined by Amazon Resource Group Tagging
    // API", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonresourcegrouptaggingapi.html),
    // so "*", held to the source region and this account's target regions (other accounts' targets: their
    // target role). Without it the function falls back to ListTagsForResource per parameter.
    new iam.PolicyStatement({
      sid: 'ReadTagsInBulk',
      actions: ['tag:GetResources'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:RequestedRegion': [c.sourceRegion, ...c.targetRegions] } },
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
    ...sourceSecretStatements(c, account, partition),
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
 * DescribeParameters and tag:GetResources (the full sync's replica tags in bulk; neither has resource-level
 * permissions) only in those regions (aws:RequestedRegion,
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
    new iam.PolicyStatement({
      sid: 'ReadReplicaTagsInBulk',
      actions: ['tag:GetResources'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:RequestedRegion': regions } },
    }),
    ...replicaStatements(c, regions, account, partition),
    ...secretCopyStatements(c, regions, account, partition),
  ];
}
