// Finding 1 (issue 11): CloudWatch alarms must be able to publish to the encrypted alarm topic.
// Rule (SNS developer guide, "Compatibility between event sources from AWS services and encrypted topics",
// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html): a topic that an AWS service such as
// CloudWatch publishes to must be encrypted with a customer managed key whose key policy lets the service
// principal use it (kms:Decrypt, kms:GenerateDataKey*); the AWS managed alias/aws/sns key's policy cannot
// be changed, so alarms cannot publish to a topic on that key
// (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns). The emulator checks no KMS policy,
// so this is tested on the template.
import { synth } from './helpers';

describe('alarm topic encryption', () => {
  const { template } = synth();
  const topics = Object.values(template.findResources('AWS::SNS::Topic')) as any[];
  const keys = template.findResources('AWS::KMS::Key');

  test('the topic is encrypted with a customer managed key of this stack, never alias/aws/sns', () => {
    expect(topics).toHaveLength(1);
    const keyRef = topics[0].Properties.KmsMasterKeyId;
    expect(JSON.stringify(keyRef)).not.toContain('alias/aws/sns');
    expect(keyRef).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    expect(Object.keys(keys)).toContain(keyRef['Fn::GetAtt'][0]);
  });

  test('the key rotates and lets cloudwatch.amazonaws.com decrypt and generate data keys, for this account\'s alarms only', () => {
    const key = Object.values(keys)[0] as any;
    expect(Object.keys(keys)).toHaveLength(1);
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const statements = key.Properties.KeyPolicy.Statement as any[];
    const cw = statements.filter((s) => JSON.stringify(s.Principal ?? {}).includes('cloudwatch.amazonaws.com'));
    expect(cw).toHaveLength(1);
    expect(cw[0].Effect).toBe('Allow');
    expect([cw[0].Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(cw[0].Condition.StringEquals['aws:SourceAccount']).toBe('111111111111');
    expect(JSON.stringify(cw[0].Condition.ArnLike['aws:SourceArn'])).toContain(':cloudwatch:us-east-1:111111111111:alarm:');
  });

  test('the topic policy lets the alarms publish (it replaces SNS\'s default policy) and refuses non-TLS', () => {
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0] as any;
    const statements = policy.Properties.PolicyDocument.Statement as any[];
    const publish = statements.find((s) => s.Sid === 'CloudWatchAlarmsPublish');
    expect(publish).toMatchObject({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } });
    expect(publish.Condition.StringEquals['aws:SourceAccount']).toBe('111111111111');
    expect(statements.some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBe(true);
  });

  test('every alarm publishes to that topic', () => {
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[]) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
  });
});
