import { Match } from 'aws-cdk-lib/assertions';
import { functionEnvironment } from '../lib/config';
import { ABSENT, BATCH_DELETE_EVENTS, CHANGE_OPERATIONS, TAG_EVENTS } from '../lib/rules';
import { TARGET_ACTIONS } from '../lib/permissions';
import { actions, dashboardBody, resources, statements, synth } from './helpers';

const SSM_WRITES = TARGET_ACTIONS.filter((a) => !/Get|List/.test(a));

describe('IAM: least privilege', () => {
  const { template } = synth({ initialSync: true });
  const all = statements(template);

  // Neither action supports resource-level permissions (Service Authorization Reference: "Actions defined by
  // AWS Systems Manager" and "Actions defined by Amazon Resource Group Tagging API"); both only read.
  test('no "*" resource except DescribeParameters, and GetResources held to the source and target regions', () => {
    const star = all.filter((s) => resources(s).includes('*'));
    expect(star.map(actions)).toEqual([['ssm:DescribeParameters'], ['tag:GetResources']]);
    expect(star[1].Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['us-east-1', 'us-east-2', 'eu-west-1'] } });
  });

  test('no SSM write action on the source region; writes only on target prefixes', () => {
    const writes = all.filter((s) => actions(s).some((a) => SSM_WRITES.includes(a)));
    expect(writes).toHaveLength(1);
    const arns = JSON.stringify(resources(writes[0]));
    expect(arns).not.toContain(':ssm:us-east-1:');
    expect([...resources(writes[0])].sort()).toEqual([
      'arn:aws:ssm:eu-west-1:111111111111:parameter/app',
      'arn:aws:ssm:eu-west-1:111111111111:parameter/app/*',
      'arn:aws:ssm:us-east-2:111111111111:parameter/app',
      'arn:aws:ssm:us-east-2:111111111111:parameter/app/*',
    ]);
  });

  test('source reads are scoped to the source prefixes', () => {
    const reads = all.find((s) => s.Sid === 'ReadSourceParameters')!;
    expect(actions(reads)).toEqual(['ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:GetParameters', 'ssm:ListTagsForResource']);
    expect(JSON.stringify(reads.Resource)).toContain(':ssm:us-east-1:111111111111:parameter/app/*');
    expect(JSON.stringify(reads.Resource)).not.toMatch(/us-east-2|eu-west-1/);
  });

  test('KMS use of key material is only through SSM (kms:ViaService)', () => {
    const kms = all.filter((s) => actions(s).some((a) => /^kms:(Decrypt|Encrypt|GenerateDataKey)/.test(a)));
    expect(kms.map((s) => s.Sid).sort()).toEqual(['DecryptReplicasThroughSsm', 'DecryptSourceThroughSsm', 'EncryptReplicasThroughSsm']);
    for (const s of kms) expect(s.Condition?.StringEquals?.['kms:ViaService']).toBeDefined();
    expect(kms.find((s) => s.Sid === 'DecryptSourceThroughSsm')!.Condition!.StringEquals).toEqual({
      'kms:ViaService': ['ssm.us-east-1.amazonaws.com'],
    });
    expect(kms.find((s) => s.Sid === 'DecryptReplicasThroughSsm')!.Condition!.StringEquals).toEqual({
      'kms:ViaService': ['ssm.us-east-2.amazonaws.com', 'ssm.eu-west-1.amazonaws.com'],
    });
    expect(kms.find((s) => s.Sid === 'EncryptReplicasThroughSsm')!.Condition!.StringEquals).toEqual({
      'kms:ViaService': ['ssm.us-east-2.amazonaws.com', 'ssm.eu-west-1.amazonaws.com'],
    });
    const describe = all.filter((s) => actions(s).includes('kms:DescribeKey'));
    // The source too: a key given by id is compared with the source's aws/ssm key (DescribeKey there).
    expect(describe.flatMap(resources).sort()).toEqual(['eu-west-1', 'us-east-1', 'us-east-2'].map((r) => `arn:aws:kms:${r}:111111111111:key/*`));
  });

  test('logs only to its own log group; hand-off only to itself; no managed policies on its role', () => {
    const logs = all.find((s) => s.Sid === 'WriteOwnLogs')!;
    expect(logs.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/ReplicatorLogs/), 'Arn'] });
    const handOff = all.find((s) => s.Sid === 'HandOffFullSync')!;
    expect(handOff.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/ReplicatorFunction/), 'Arn'] });
    const roles = template.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('ssm-replicator: read the source region') } });
    expect(Object.keys(roles)).toHaveLength(1);
    expect(Object.values(roles)[0].Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('function', () => {
  const { template, config } = synth();

  test('arm64 on provided.al2023, sized for full sync, environment equals the config', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: 'provided.al2023',
      Handler: 'bootstrap',
      Timeout: 900,
      MemorySize: 512,
      ReservedConcurrentExecutions: 5,
      Environment: { Variables: functionEnvironment(config) },
    });
  });

  test('async retries, event age and on-failure queue are stated', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedInvocations'), 'Arn'] } } },
    });
  });

  test('functions depend on their policies but not redundantly on their roles (cfn-lint W3005)', () => {
    const { template: t } = synth({ initialSync: true });
    const fns = t.findResources('AWS::Lambda::Function');
    expect(Object.keys(fns)).toHaveLength(2);
    for (const fn of Object.values(fns)) {
      const role = (fn as any).Properties.Role['Fn::GetAtt'][0];
      expect((fn as any).DependsOn ?? []).not.toContain(role);
    }
    const replicator = Object.entries(fns).find(([id]) => id.startsWith('ReplicatorFunction'))![1] as any;
    expect(replicator.DependsOn).toEqual([expect.stringMatching(/^ReplicatorPolicy/), expect.stringMatching(/^ReplicatorRoleDefaultPolicy/)]);
  });

  test('no reserved concurrency unless configured (Lambda keeps 100 of the account\'s concurrency unreserved)', () => {
    const { template: t } = synth({ reservedConcurrency: undefined });
    const fn = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('ReplicatorFunction'))![1] as any;
    expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('log group with retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('rules', () => {
  test('native change rule limited to the prefixes, CloudTrail tag and batch-delete rules, schedule; each with retries and a DLQ', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['Parameter Store Change'],
        detail: { operation: CHANGE_OPERATIONS, name: [{ prefix: '/app/' }], exception: ABSENT },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: Match.objectLike({ eventSource: ['ssm.amazonaws.com'], eventName: TAG_EVENTS, errorCode: ABSENT }),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['ssm.amazonaws.com'], eventName: BATCH_DELETE_EVENTS, errorCode: ABSENT,
          requestParameters: { names: [{ prefix: '/app/' }] },
        },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    expect(rules).toHaveLength(4);
    for (const rule of rules) {
      const targets = (rule as any).Properties.Targets;
      expect(targets).toHaveLength(1);
      expect(targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 });
      expect(targets[0].DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/RuleDeadLetters/), 'Arn'] });
    }
  });

  test('no trail: no CloudTrail rule; no prefixes: no name filter', () => {
    const { template } = synth({ cloudTrail: false, pathPrefixes: [] });
    expect(Object.values(template.findResources('AWS::Events::Rule'))).toHaveLength(2);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ssm'], 'detail-type': ['Parameter Store Change'], detail: { operation: CHANGE_OPERATIONS, exception: ABSENT } },
    });
  });

  test('dead-letter queues are encrypted and refuse non-TLS access', () => {
    const { template } = synth();
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(2);
    for (const q of Object.values(queues)) expect((q as any).Properties.SqsManagedSseEnabled).toBe(true);
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect((p as any).Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }));
    }
  });
});

describe('monitoring', () => {
  const fnRef = { Ref: Match.stringLikeRegexp('^ReplicatorFunction') };

  test('alarms for undeliverable failures, both DLQs, failed replications, an overdue full sync, latency and drift, all to the topic', () => {
    const { template } = synth();
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(7);
    for (const a of alarms) {
      expect((a as any).Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/MonitoringAlarms/) }]);
      expect((a as any).Properties.AlarmDescription).toMatch(/^ssm-replicator: /);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FullSyncCompleted', ComparisonOperator: 'LessThanThreshold', Threshold: 1, TreatMissingData: 'breaching', Period: 7200,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'SsmReplicator', MetricName: 'FailedPermanently', Dimensions: [{ Name: 'FunctionName', Value: fnRef }],
      Statistic: 'Sum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0,
    });
    template.resourcePropertiesCountIs('AWS::Logs::MetricFilter', {
      MetricTransformations: [Match.objectLike({ MetricName: Match.stringLikeRegexp('^(FailedReplications|WrittenReplications)$') })],
    }, 0);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  // The event path's latency only: a full sync's counts from its start, and the first one after a deployment
  // writes every replica for hours (3 writes per second); it must not page.
  test('ReplicationLatencyP99: p99 of the event path\'s ReplicationLatency above 15 minutes (900,000 ms) by default', () => {
    const { template } = synth();
    const latency = template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ReplicationLatency' } });
    expect(Object.keys(latency)).toEqual([expect.stringMatching(/^MonitoringReplicationLatencyP99/)]);
    const p = (Object.values(latency)[0] as any).Properties;
    expect(p).toEqual(expect.objectContaining({
      Namespace: 'SsmReplicator',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: expect.stringMatching(/^ReplicatorFunction/) } },
        { Name: 'Trigger', Value: 'event' },
      ],
      ExtendedStatistic: 'p99',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 900000,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      EvaluateLowSampleCountPercentile: 'evaluate',
      AlarmActions: [{ Ref: expect.stringMatching(/MonitoringAlarms/) }],
    }));
    expect(p.Statistic).toBeUndefined();
    expect(p.AlarmDescription).toMatch(/^ssm-replicator: p99 replication latency above the 15-minute objective/);
  });

  test('a configured latencyObjectiveMinutes sets the alarm threshold and the dashboard annotation', () => {
    const { template } = synth({ latencyObjectiveMinutes: 5 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ReplicationLatency', Threshold: 300000 });
    const latency = dashboardBody(template).widgets.find((w: any) => w.properties.title.startsWith('Replication latency'));
    expect(latency.properties.annotations.horizontal).toEqual([expect.objectContaining({ value: 300000, label: 'objective: 5 min' })]);
  });

  test('DriftRepaired: drift repaired in every hour of a day (full sync hourly), missing data not breaching', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'SsmReplicator', MetricName: 'DriftRepaired', Dimensions: [{ Name: 'FunctionName', Value: fnRef }],
      Statistic: 'Sum', Period: 3600, EvaluationPeriods: 24, DatapointsToAlarm: 24,
      ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('MonitoringAlarms') }],
    });
  });

  test.each([
    ['rate(15 minutes)', 3600, 24],
    ['rate(30 minutes)', 3600, 24],
    ['rate(5 hours)', 18000, 5],
    ['rate(1 day)', 86400, 2],
    ['rate(3 days)', 259200, 2],
  ])('DriftRepaired with %s: period %i s, %i evaluation periods, all breaching', (schedule, period, evaluationPeriods) => {
    const { template } = synth({ schedule });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DriftRepaired', Period: period, EvaluationPeriods: evaluationPeriods, DatapointsToAlarm: evaluationPeriods,
    });
  });

  test('dashboard: latency p50/p99 with the objective, replicated/failed, drift repaired, full syncs, function, dead letters', () => {
    const { template } = synth();
    const widgets = dashboardBody(template).widgets.map((w: any) => w.properties);
    const fn = expect.stringMatching(/^<Ref:ReplicatorFunction/);
    const titled = (prefix: string) => widgets.find((w: any) => w.title.startsWith(prefix));
    expect(widgets.map((w: any) => w.title)).toEqual([
      'Replication latency (ms)', 'Replications', 'Drift repaired by full syncs', 'Full syncs completed', 'Function', 'Dead letters',
    ]);
    expect(titled('Replication latency').metrics).toEqual([
      ['SsmReplicator', 'ReplicationLatency', 'FunctionName', fn, 'Trigger', 'event', expect.objectContaining({ stat: 'p50' })],
      ['SsmReplicator', 'ReplicationLatency', 'FunctionName', fn, 'Trigger', 'event', expect.objectContaining({ stat: 'p99' })],
    ]);
    expect(titled('Replication latency').annotations.horizontal).toEqual([expect.objectContaining({ value: 900000 })]);
    expect(titled('Replications').metrics).toEqual(['Replicated', 'Failed', 'FailedPermanently'].map((name) =>
      ['SsmReplicator', name, 'FunctionName', fn, { stat: 'Sum' }]));
    expect(titled('Drift repaired').metrics).toEqual([['SsmReplicator', 'DriftRepaired', 'FunctionName', fn, { period: 3600, stat: 'Sum' }]]);
    expect(titled('Full syncs completed').metrics).toEqual([['SsmReplicator', 'FullSyncCompleted', { period: 3600, stat: 'Sum' }]]);
  });
});

describe('snapshot', () => {
  test('the normalized template', () => {
    const { template } = synth();
    const json = JSON.stringify(template.toJSON(), null, 1)
      .replace(/[0-9a-f]{64}\.zip/g, 'ASSET.zip')
      .replace(/cdk-hnb659fds-assets-[^"]+/g, 'ASSET-BUCKET');
    expect(JSON.parse(json)).toMatchSnapshot();
  });
});
