// Secrets Manager secrets (issue 15): the rules that route their changes and the IAM the function and the target
// roles get for them. The emulator enforces no IAM or KMS policy and has no TestEventPattern, so the rules are
// stated here on the synthesized templates, each with where AWS documents it.
import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { functionEnvironment, parseConfig } from '../lib/config';
import { SECRET_COPY_ACTIONS } from '../lib/permissions';
import { ReplicatorStack } from '../lib/replicator-stack';
import { SECRET_EVENTS, SECRET_SERVICE_EVENTS } from '../lib/rules';
import { TargetStack, targetStackName } from '../lib/target-stack';
import { BASE, CDK_CONTEXT, Statement, actions, matches, resolve, resources, statements } from './helpers';

const ACCOUNT = '111111111111';
const PREFIXES = ['prod/', 'shared/'];
const TARGETS = ['us-east-2', 'eu-west-1', '333333333333/us-west-2'];
const ON = { enabled: true, namePrefixes: PREFIXES };

/** The source stack and the target stack of account 333333333333 (when a target is there), with cdk-nag. */
function synthAll(overrides: Record<string, unknown> = {}) {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const config = parseConfig('test', { ...BASE, targets: TARGETS, kmsKeys: {}, secrets: ON, ...overrides });
  const source = new ReplicatorStack(app, 'SsmReplicator-test', { env: { account: config.account, region: config.sourceRegion }, config });
  const target = config.targetAccounts['333333333333']
    ? new TargetStack(app, targetStackName('test', '333333333333'), { config, targetAccount: '333333333333' })
    : undefined;
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  app.synth();
  const sourceTemplate = Template.fromStack(source);
  return {
    config, source, target, sourceTemplate,
    sourceStatements: statements(sourceTemplate),
    targetStatements: target ? statements(Template.fromStack(target)) : [],
  };
}

const secretArn = (region: string, prefix: string, account = ACCOUNT) => `arn:aws:secretsmanager:${region}:${account}:secret:${prefix}*`;
const secretArnsIn = (regions: string[], account = ACCOUNT) => regions.flatMap((r) => PREFIXES.map((p) => secretArn(r, p, account)));
const secretActions = (all: Statement[]) => all.flatMap(actions).filter((a) => a.startsWith('secretsmanager:'));
const bySid = (all: Statement[], sid: string) => all.find((s) => s.Sid === sid)!;
const kmsKeyMaterial = (all: Statement[]) => all.filter((s) => actions(s).some((a) => /^kms:(Decrypt|Encrypt|GenerateDataKey)/.test(a)));
const viaSecretsManager = (s: Statement) => JSON.stringify(s.Condition ?? {}).includes('secretsmanager.');
/** The target template names its account as AWS::AccountId (it also serves StackSets): rendered here as ACCOUNT. */
function rendered(v: unknown): any {
  const account = (x: any): any => {
    if (Array.isArray(x)) return x.map(account);
    if (x && typeof x === 'object') {
      if (x.Ref === 'AWS::AccountId') return 'ACCOUNT';
      return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, account(y)]));
    }
    return x;
  };
  return resolve(account(v));
}

describe('secrets configuration', () => {
  test('off unless the environment file switches it on: SECRETS and SECRET_PREFIXES in the function environment', () => {
    const off = functionEnvironment(parseConfig('dev', BASE));
    expect([off.SECRETS, off.SECRET_PREFIXES]).toEqual(['false', '']);
    const on = functionEnvironment(parseConfig('dev', { ...BASE, secrets: ON }));
    expect([on.SECRETS, on.SECRET_PREFIXES]).toEqual(['true', 'prod/,shared/']);
    const { sourceTemplate } = synthAll();
    sourceTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SECRETS: 'true', SECRET_PREFIXES: 'prod/,shared/' }) },
    });
  });
});

describe('secrets: rules', () => {
  const { sourceTemplate } = synthAll({ targets: ['us-east-2'] });
  const rules = Object.values(sourceTemplate.findResources('AWS::Events::Rule')) as any[];
  const patterns = rules.filter((r) => r.Properties.EventPattern).map((r) => resolve(r.Properties.EventPattern));
  const routed = (event: unknown) => patterns.filter((p) => matches(event, p)).length;

  /** An event as EventBridge delivers a CloudTrail record of Secrets Manager (the shape of cloudtrail_log_entries.html). */
  const event = (detailType: string, eventName: string, extra: Record<string, unknown> = {}) => ({
    version: '0', id: 'e1', 'detail-type': detailType, source: 'aws.secretsmanager', account: ACCOUNT,
    time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [],
    detail: {
      eventVersion: '1.08', eventTime: '2026-01-01T00:00:00Z', eventSource: 'secretsmanager.amazonaws.com', eventName,
      awsRegion: 'us-east-1', readOnly: false, managementEvent: true, eventCategory: 'Management', recipientAccountId: ACCOUNT,
      ...extra,
    },
  });
  const apiCall = (eventName: string, extra: Record<string, unknown> = {}) => event('AWS API Call via CloudTrail', eventName, {
    eventType: 'AwsApiCall', requestParameters: { secretId: 'prod/db' }, ...extra,
  });
  // The rotation record of the CloudTrail documentation: eventType AwsServiceEvent, no request, the secret's ARN
  // in additionalEventData.SecretId.
  const rotation = (eventName: string) => event('AWS Service Event via CloudTrail', eventName, {
    eventType: 'AwsServiceEvent', userIdentity: { accountId: ACCOUNT, invokedBy: 'secretsmanager.amazonaws.com' },
    sourceIPAddress: 'secretsmanager.amazonaws.com', userAgent: 'secretsmanager.amazonaws.com',
    requestParameters: null, responseElements: null,
    additionalEventData: { SecretId: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-a1b2c3' },
  });

  // Rule: Secrets Manager's API calls reach EventBridge as "AWS API Call via CloudTrail" from
  // secretsmanager.amazonaws.com (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html,
  // https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html).
  test('secret API calls: source aws.secretsmanager, "AWS API Call via CloudTrail", the ten change operations, failed calls excluded', () => {
    sourceTemplate.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['secretsmanager.amazonaws.com'],
          eventName: [
            'CreateSecret', 'PutSecretValue', 'UpdateSecret', 'UpdateSecretVersionStage', 'TagResource', 'UntagResource',
            'DeleteSecret', 'RestoreSecret', 'ReplicateSecretToRegions', 'RemoveRegionsFromReplication',
          ],
          errorCode: [{ exists: false }],
        },
      },
    });
    for (const name of SECRET_EVENTS) expect([name, routed(apiCall(name))]).toEqual([name, 1]);
    // Reads, and calls that failed (CloudTrail's errorCode), change nothing.
    for (const name of ['GetSecretValue', 'DescribeSecret', 'ListSecrets']) expect([name, routed(apiCall(name))]).toEqual([name, 0]);
    expect(routed(apiCall('PutSecretValue', { errorCode: 'AccessDenied' }))).toBe(0);
  });

  // Rule: a rotation is a service event, not an API call: CloudTrail records RotationSucceeded with eventType
  // AwsServiceEvent (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html),
  // which EventBridge delivers with detail-type "AWS Service Event via CloudTrail"
  // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html).
  test('rotations: "AWS Service Event via CloudTrail" RotationSucceeded only (not started, failed or abandoned)', () => {
    sourceTemplate.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        'detail-type': ['AWS Service Event via CloudTrail'],
        detail: { eventSource: ['secretsmanager.amazonaws.com'], eventName: ['RotationSucceeded'] },
      },
    });
    expect(SECRET_SERVICE_EVENTS).toEqual(['RotationSucceeded']);
    expect(routed(rotation('RotationSucceeded'))).toBe(1);
    for (const name of ['RotationStarted', 'RotationFailed', 'RotationAbandoned']) expect([name, routed(rotation(name))]).toEqual([name, 0]);
    // The same name as an API call's detail-type is not a rotation.
    expect(routed(event('AWS API Call via CloudTrail', 'RotationSucceeded'))).toBe(0);
  });

  test('the secret rules deliver like the others: 8 retries, 2 hours, the rules\' dead-letter queue', () => {
    const secretRules = rules.filter((r) => r.Properties.EventPattern?.source?.[0] === 'aws.secretsmanager');
    expect(secretRules).toHaveLength(2);
    for (const rule of secretRules) {
      const targets = rule.Properties.Targets;
      expect(targets).toHaveLength(1);
      expect(targets[0].Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ReplicatorFunction/), 'Arn'] });
      expect(targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 });
      expect(targets[0].DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/RuleDeadLetters/), 'Arn'] });
    }
  });

  test('no secret rule when secrets are off or there is no trail (the scheduled full sync still covers secrets)', () => {
    const count = (overrides: Record<string, unknown>) => {
      const { sourceTemplate: t } = synthAll({ targets: ['us-east-2'], ...overrides });
      const all = Object.values(t.findResources('AWS::Events::Rule')) as any[];
      return [all.filter((r) => r.Properties.EventPattern?.source?.[0] === 'aws.secretsmanager').length,
        all.filter((r) => r.Properties.ScheduleExpression).length];
    };
    expect(count({ secrets: { enabled: false, namePrefixes: [] } })).toEqual([0, 1]);
    expect(count({ cloudTrail: false })).toEqual([0, 1]);
  });
});

describe('secrets: IAM', () => {
  const on = synthAll();
  const src = on.sourceStatements;

  test('secrets off: no secretsmanager action and no KMS use through Secrets Manager, in either role', () => {
    const off = synthAll({ secrets: { enabled: false, namePrefixes: ['prod/'] } });
    for (const all of [off.sourceStatements, off.targetStatements]) {
      expect(secretActions(all)).toEqual([]);
      expect(all.filter(viaSecretsManager)).toEqual([]);
      expect(JSON.stringify(all)).not.toContain(':secretsmanager:');
    }
  });

  // Rule: ListSecrets supports no resource-level permissions; every other action used acts on the secret
  // resource type (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html).
  test('ListSecrets is the only secretsmanager action on "*", held to the source region', () => {
    const star = src.filter((s) => resources(s).includes('*') && actions(s).some((a) => a.startsWith('secretsmanager:')));
    expect(star.map(actions)).toEqual([['secretsmanager:ListSecrets']]);
    expect(star[0].Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': 'us-east-1' } });
    for (const s of [...src, ...on.targetStatements].filter((x) => actions(x).some((a) => a.startsWith('secretsmanager:') && a !== 'secretsmanager:ListSecrets'))) {
      expect(resources(s)).not.toContain('*');
    }
  });

  // Rule: ReplicateSecretToRegions takes the condition keys secretsmanager:AddReplicaRegions and
  // secretsmanager:ForceOverwriteReplicaSecret (https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets-permissions.html):
  // replicas only into this account's target regions; overwriting a same-name secret only with adoption on.
  test('ReplicateSecretToRegions only to the target regions of this account, and ForceOverwrite only with adoptUnmanaged', () => {
    const conditions = (stmts: any[]) => rendered(bySid(stmts, 'ReplicateSourceSecrets').Condition);
    const adopting = conditions(synthAll({ adoptUnmanaged: true }).sourceStatements);
    expect(adopting['ForAllValues:StringEquals']).toEqual({ 'secretsmanager:AddReplicaRegions': ['us-east-2', 'eu-west-1'] });
    expect(adopting.BoolIfExists).toBeUndefined();
    const leaving = conditions(synthAll({ adoptUnmanaged: false }).sourceStatements);
    expect(leaving.BoolIfExists).toEqual({ 'secretsmanager:ForceOverwriteReplicaSecret': 'false' });
  });

  test('no secretsmanager wildcard action (secretsmanager:*, Get*, Put*…) in either role', () => {
    for (const all of [src, on.targetStatements]) {
      expect(secretActions(all).filter((a) => a.includes('*'))).toEqual([]);
      expect(all.flatMap(actions).filter((a) => a === '*')).toEqual([]);
    }
  });

  // Rule: ReplicateSecretToRegions needs secretsmanager:ReplicateSecretToRegions on the primary secret, kms:Decrypt
  // on its key and kms:GenerateDataKey/kms:Encrypt on the replica's key; no permission on the replica itself
  // (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicateSecretToRegions.html).
  test('source role: reads and ReplicateSecretToRegions on the source secrets under the prefixes; in its target regions only DescribeSecret', () => {
    expect(bySid(src, 'ReadSourceSecrets').Resource).toEqual(secretArnsIn(['us-east-1']));
    expect(bySid(src, 'ReplicateSourceSecrets').Resource).toEqual(secretArnsIn(['us-east-1']));
    expect(actions(bySid(src, 'ReplicateSourceSecrets'))).toEqual(['secretsmanager:ReplicateSecretToRegions']);
    const replicas = bySid(src, 'ReadReplicaSecrets');
    expect(actions(replicas)).toEqual(['secretsmanager:DescribeSecret']);
    expect(resources(replicas).sort()).toEqual(secretArnsIn(['us-east-2', 'eu-west-1']).sort());
    // The function itself writes no secret in this account, and none anywhere in another account.
    const actionsOnSecrets = new Set(secretActions(src));
    expect([...actionsOnSecrets].sort()).toEqual([
      'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecrets', 'secretsmanager:ReplicateSecretToRegions',
    ]);
    expect(JSON.stringify(src.filter((s) => !actions(s).includes('sts:AssumeRole')))).not.toMatch(/333333333333|us-west-2/);
  });

  test('GetSecretValue only when values are copied into other accounts; no replication rights without own-account targets', () => {
    const ownOnly = synthAll({ targets: ['us-east-2'] }).sourceStatements;
    expect(secretActions(ownOnly)).not.toContain('secretsmanager:GetSecretValue');
    expect(secretActions(ownOnly)).toContain('secretsmanager:ReplicateSecretToRegions');
    const othersOnly = synthAll({ targets: ['333333333333/us-west-2'] }).sourceStatements;
    expect(secretActions(othersOnly)).toContain('secretsmanager:GetSecretValue');
    expect(secretActions(othersOnly)).not.toContain('secretsmanager:ReplicateSecretToRegions');
    expect(othersOnly.find((s) => s.Sid === 'EncryptReplicaSecretsThroughSecretsManager')).toBeUndefined();
  });

  // Rule: "To allow the KMS key to be used only for requests that originate in Secrets Manager, you can use the
  // kms:ViaService condition key with the secretsmanager.<Region>.amazonaws.com value"; Secrets Manager's
  // encryption context SecretARN names the secret
  // (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
  test('source role: secret keys only through secretsmanager.<region> of the source and own-account targets, for the secrets under the prefixes', () => {
    const own = ['us-east-1', 'us-east-2', 'eu-west-1'];
    const secretKms = kmsKeyMaterial(src).filter(viaSecretsManager);
    expect(secretKms.map((s) => s.Sid).sort()).toEqual(['DecryptSourceSecretsThroughSecretsManager', 'EncryptReplicaSecretsThroughSecretsManager']);
    for (const s of secretKms) {
      expect(s.Condition).toEqual({
        StringEquals: { 'kms:ViaService': own.map((r) => `secretsmanager.${r}.amazonaws.com`) },
        StringLike: { 'kms:EncryptionContext:SecretARN': secretArnsIn(own) },
      });
    }
    expect(bySid(src, 'DecryptSourceSecretsThroughSecretsManager').Action).toBe('kms:Decrypt');
    expect(bySid(src, 'DecryptSourceSecretsThroughSecretsManager').Resource).toBe(`arn:aws:kms:us-east-1:${ACCOUNT}:key/*`);
    expect(bySid(src, 'EncryptReplicaSecretsThroughSecretsManager').Action).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    expect(resources(bySid(src, 'EncryptReplicaSecretsThroughSecretsManager')).sort())
      .toEqual(['eu-west-1', 'us-east-2'].map((r) => `arn:aws:kms:${r}:${ACCOUNT}:key/*`));
    // Every use of key material is through SSM or through Secrets Manager, never direct.
    for (const s of kmsKeyMaterial(src)) expect(JSON.stringify(s.Condition?.StringEquals?.['kms:ViaService'] ?? 'direct')).toMatch(/^\["(ssm|secretsmanager)\./);
  });

  // Rule: the copy into another account is an ordinary secret there: CreateSecret, PutSecretValue (with the
  // source's version id as ClientRequestToken), UpdateSecret, TagResource/UntagResource, each on the secret
  // resource (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html);
  // its key through Secrets Manager in that region (security-encryption.html).
  test('target role: the copy actions on secrets under the prefixes in its own target region; keys through secretsmanager.<that region>', () => {
    const tgt = on.targetStatements;
    const write = bySid(tgt, 'WriteSecretCopies');
    expect(actions(write).sort()).toEqual([...SECRET_COPY_ACTIONS].sort());
    expect(actions(write).sort()).toEqual([
      'secretsmanager:CreateSecret', 'secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue',
      'secretsmanager:RestoreSecret', 'secretsmanager:TagResource', 'secretsmanager:UntagResource',
      'secretsmanager:UpdateSecret', 'secretsmanager:UpdateSecretVersionStage',
    ]);
    expect(rendered(write.Resource)).toEqual(secretArnsIn(['us-west-2'], 'ACCOUNT'));
    const kms = kmsKeyMaterial(tgt).filter(viaSecretsManager);
    expect(kms.map((s) => s.Sid)).toEqual(['UseSecretCopyKeysThroughSecretsManager']);
    expect(kms[0].Action).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    expect(rendered(kms[0].Resource)).toBe('arn:aws:kms:us-west-2:ACCOUNT:key/*');
    expect(rendered(kms[0].Condition)).toEqual({
      StringEquals: { 'kms:ViaService': ['secretsmanager.us-west-2.amazonaws.com'] },
      StringLike: { 'kms:EncryptionContext:SecretARN': secretArnsIn(['us-west-2'], 'ACCOUNT') },
    });
    // Nothing of the source account or of any other region.
    expect(JSON.stringify(rendered(tgt))).not.toMatch(/111111111111|us-east-1|us-east-2|eu-west-1/);
  });

  // Rule: DeleteSecret takes the condition key secretsmanager:ForceDeleteWithoutRecovery
  // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html); the copies
  // are deleted only when deletes propagate (as ssm:DeleteParameter), always with a recovery window.
  test('DeleteSecret only on the target role\'s copies, only with deleteReplicas, never ForceDeleteWithoutRecovery', () => {
    expect(secretActions(src)).not.toContain('secretsmanager:DeleteSecret');
    const deletes = on.targetStatements.filter((s) => actions(s).includes('secretsmanager:DeleteSecret'));
    expect(deletes).toHaveLength(1);
    expect(actions(deletes[0])).toEqual(['secretsmanager:DeleteSecret']);
    expect(rendered(deletes[0].Resource)).toEqual(secretArnsIn(['us-west-2'], 'ACCOUNT'));
    expect(deletes[0].Condition).toEqual({ BoolIfExists: { 'secretsmanager:ForceDeleteWithoutRecovery': 'false' } });
    const off = synthAll({ deleteReplicas: false });
    for (const all of [off.sourceStatements, off.targetStatements]) expect(secretActions(all)).not.toContain('secretsmanager:DeleteSecret');
  });

  // Rule: ListSecrets supports no resource-level permissions (Service Authorization Reference, as above); the
  // target role lists only to find owned copies whose source is gone, so only with deletes on, and only in
  // its own target regions (aws:RequestedRegion).
  test('target role: ListSecrets on "*" only with deleteReplicas, held to its own target regions', () => {
    const list = bySid(on.targetStatements, 'ListSecretCopies');
    expect(actions(list)).toEqual(['secretsmanager:ListSecrets']);
    expect(resources(list)).toEqual(['*']);
    expect(rendered(list.Condition)).toEqual({ StringEquals: { 'aws:RequestedRegion': ['us-west-2'] } });
    const off = synthAll({ deleteReplicas: false });
    expect(secretActions(off.targetStatements)).not.toContain('secretsmanager:ListSecrets');
  });

  test('cdk-nag: zero unacknowledged findings on the source and the target stacks with secrets on', () => {
    for (const stack of [on.source, on.target!]) {
      const annotations = Annotations.fromStack(stack);
      const found = [
        ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
        ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ];
      expect([stack.stackName, found.map((f) => `${f.id}: ${f.entry.data}`)]).toEqual([stack.stackName, []]);
    }
  });
});
