// Least privilege the emulator cannot check (it enforces no IAM or KMS policy), stated on the template.
import { ConfigError, parseConfig } from '../lib/config';
import { BASE, actions, statements, synth } from './helpers';

// With the cdk.json feature flags (target partitions) and a known region, the partition renders as 'aws'.
const arn = (region: string, path: string) => `arn:aws:ssm:${region}:111111111111:parameter${path}`;

describe('least privilege', () => {
  test('no ssm:DeleteParameter anywhere when deletes do not propagate (deleteReplicas false)', () => {
    const off = statements(synth({ deleteReplicas: false, initialSync: true }).template);
    expect(off.flatMap(actions)).not.toContain('ssm:DeleteParameter');
    const on = statements(synth({ deleteReplicas: true }).template);
    expect(on.find((s) => s.Sid === 'WriteReplicas')!.Action).toContain('ssm:DeleteParameter');
  });

  test('label writes only when labels are replicated (replicateLabels), on the target parameters', () => {
    const off = statements(synth().template);
    expect(off.flatMap(actions)).not.toContain('ssm:LabelParameterVersion');
    expect(off.flatMap(actions)).not.toContain('ssm:UnlabelParameterVersion');
    const on = statements(synth({ replicateLabels: true }).template);
    const write = on.find((s) => s.Sid === 'WriteReplicas')!;
    expect(write.Action).toEqual(expect.arrayContaining(['ssm:LabelParameterVersion', 'ssm:UnlabelParameterVersion']));
  });

  test('recreation and pruning delete replicas, so either grants ssm:DeleteParameter on the targets even without deleteReplicas', () => {
    for (const on of [{ recreateReplicas: true }, { pruneDeselected: true }]) {
      const all = statements(synth({ deleteReplicas: false, ...on }).template);
      const write = all.find((s) => s.Sid === 'WriteReplicas')!;
      expect(write.Action).toContain('ssm:DeleteParameter');
      // Still only on the target regions' parameters: never a delete in the source region.
      expect(JSON.stringify(write.Resource)).not.toMatch(/us-east-1/);
    }
  });

  // Rule: Parameter Store passes the parameter's ARN as the KMS encryption context PARAMETER_ARN, so the
  // kms:EncryptionContext:PARAMETER_ARN condition limits a key (possibly shared with other parameters) to
  // the replicated parameters (https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html,
  // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
  test('KMS use is limited to the replicated parameters by SSM\'s encryption context (PARAMETER_ARN)', () => {
    const all = statements(synth().template);
    const decrypt = all.find((s) => s.Sid === 'DecryptSourceThroughSsm')!;
    expect(decrypt.Condition!.StringLike).toEqual({ 'kms:EncryptionContext:PARAMETER_ARN': [arn('us-east-1', '/app'), arn('us-east-1', '/app/*')] });
    const decryptReplicas = all.find((s) => s.Sid === 'DecryptReplicasThroughSsm')!;
    expect(decryptReplicas.Condition!.StringLike).toEqual({
      'kms:EncryptionContext:PARAMETER_ARN': ['us-east-2', 'eu-west-1'].flatMap((r) => [arn(r, '/app'), arn(r, '/app/*')]),
    });
    const encrypt = all.find((s) => s.Sid === 'EncryptReplicasThroughSsm')!;
    expect(encrypt.Condition!.StringLike).toEqual({
      'kms:EncryptionContext:PARAMETER_ARN': ['us-east-2', 'eu-west-1'].flatMap((r) => [arn(r, '/app'), arn(r, '/app/*')]),
    });
    // DescribeKey is a direct call without an encryption context: the one KMS statement without it.
    const withoutContext = all.filter((s) => actions(s).some((a) => a.startsWith('kms:')) && !s.Condition?.StringLike);
    expect(withoutContext.map((s) => s.Sid).sort()).toEqual(['CheckReplicaKeys', 'CheckSourceKeys']);
  });

  test('without prefixes the encryption context still names only parameters of the regions involved', () => {
    const all = statements(synth({ pathPrefixes: [], kmsKeys: {} }).template);
    expect(all.find((s) => s.Sid === 'EncryptReplicasThroughSsm')!.Condition!.StringLike).toEqual({
      'kms:EncryptionContext:PARAMETER_ARN': [arn('us-east-2', '/*'), arn('eu-west-1', '/*')],
    });
  });

  test('a key ARN of another account than the target\'s in kmsKeys is rejected at synth with a clear message', () => {
    const bad = (key: string, overrides: Record<string, unknown> = {}) =>
      () => parseConfig('dev', { ...BASE, ...overrides, kmsKeys: { 'eu-west-1': key } });
    expect(bad('arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab'))
      .toThrow(/kmsKeys\.eu-west-1: .* is in account 999999999999, not 111111111111: a replica in eu-west-1 must use a key of its own account/);
    // A target in another account takes a key of that account, and only that.
    const dr = { targets: ['us-east-2', '999999999999/eu-west-1'] };
    const drKey = (key: string) => () => parseConfig('dev', { ...BASE, ...dr, kmsKeys: { '999999999999/eu-west-1': key } });
    expect(drKey('arn:aws:kms:eu-west-1:999999999999:alias/dr')).not.toThrow();
    expect(drKey('arn:aws:kms:eu-west-1:111111111111:alias/dr')).toThrow(/is in account 111111111111, not 999999999999/);
    expect(bad('arn:aws:kms:eu-west-1:999999999999:alias/app')).toThrow(ConfigError);
    expect(bad('arn:aws:kms:us-east-2:111111111111:alias/app')).toThrow(/is a key in us-east-2, not eu-west-1/);
    expect(bad('arn:aws:kms:eu-west-1:111111111111:alias/app', { account: undefined })).toThrow(/needs `account` set/);
    expect(bad('arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab')).not.toThrow();
    expect(bad('alias/app-eu')).not.toThrow();
  });
});
