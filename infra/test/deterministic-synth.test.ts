// Finding 6 (issue 11): `cdk diff` right after a deploy shows no change. The initial full sync's custom
// resource changes only when the function's code or configuration does (it used to carry Date.now()).
import { synth, statements } from './helpers';

const customResource = (t: ReturnType<typeof synth>['template']) =>
  Object.values(t.findResources('Custom::AWS'))[0] as any;
const physicalId = (t: ReturnType<typeof synth>['template']) =>
  JSON.stringify(customResource(t).Properties.Create).match(/full-sync-[^\\"]*/)![0];

describe('deterministic synth', () => {
  afterEach(() => jest.restoreAllMocks());

  test('two synths of the same configuration, a day apart, give the same template', () => {
    const first = synth({ initialSync: true }).template.toJSON();
    const now = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(now + 86_400_000);
    const second = synth({ initialSync: true }).template.toJSON();
    expect(second).toEqual(first);
  });

  test('the sync runs again when the function\'s configuration changes, not otherwise', () => {
    const base = physicalId(synth({ initialSync: true }).template);
    expect(physicalId(synth({ initialSync: true }).template)).toBe(base);
    expect(physicalId(synth({ initialSync: true, deleteReplicas: false }).template)).not.toBe(base);
    expect(physicalId(synth({ initialSync: true, reservedConcurrency: 3 }).template)).not.toBe(base);
    // Alarm e-mail is not the function's configuration.
    expect(physicalId(synth({ initialSync: true, alarmEmail: 'other@example.com' }).template)).toBe(base);
    expect(JSON.stringify(customResource(synth({ initialSync: true }).template).Properties.Update)).toContain(base);
  });

  test('the custom resource\'s provider has its own role (no AWS managed policy) writing only to its own log group', () => {
    const { template } = synth({ initialSync: true });
    const providers = Object.entries(template.findResources('AWS::Lambda::Function'))
      .filter(([id]) => id.startsWith('AWS679f53fac002430cb0da5b7982bd2287'));
    expect(providers).toHaveLength(1);
    const roleId = (providers[0][1] as any).Properties.Role['Fn::GetAtt'][0];
    expect(roleId).toMatch(/^InitialFullSyncRole/);
    const roles = template.findResources('AWS::IAM::Role');
    for (const role of Object.values(roles) as any[]) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const inline = (roles[roleId] as any).Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    expect(inline).toEqual([expect.objectContaining({
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^InitialFullSyncLogs/), 'Arn'] },
    })]);
    expect((providers[0][1] as any).Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/^InitialFullSyncLogs/) });
    // Besides its logs, the provider may only invoke the replicator.
    const invoke = statements(template).filter((s) => JSON.stringify(s.Action).includes('lambda:InvokeFunction'));
    for (const s of invoke) expect(JSON.stringify(s.Resource)).toMatch(/ReplicatorFunction/);
  });
});
