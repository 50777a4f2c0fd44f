// Targets in other accounts: the target stack's role and the source role's right to assume it. The emulator
// enforces no IAM, so the rules are stated here, on the templates, each with where AWS documents it.
import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../lib/config';
import { ReplicatorStack } from '../lib/replicator-stack';
import { TargetStack, targetStackName } from '../lib/target-stack';
import { BASE, CDK_CONTEXT, Statement, actions, statements } from './helpers';

const TARGETS = ['us-east-2', '333333333333/us-west-2', '333333333333/eu-west-1', '444444444444/us-east-1'];
const SOURCE_ROLE = 'arn:aws:iam::111111111111:role/ssm-replicator-test-us-east-1';

function synthAll(overrides: Record<string, unknown> = {}) {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const config = parseConfig('test', { ...BASE, targets: TARGETS, kmsKeys: {}, ...overrides });
  const source = new ReplicatorStack(app, 'SsmReplicator-test', { env: { account: config.account, region: config.sourceRegion }, config });
  const targets = Object.keys(config.targetAccounts).map((a) => new TargetStack(app, targetStackName('test', a), { config, targetAccount: a }));
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  app.synth();
  return { config, source, targets, template: (s: ReplicatorStack | TargetStack) => Template.fromStack(s) };
}

const resourceText = (s: Statement) => JSON.stringify(s.Resource);

describe('targets in other accounts', () => {
  const { source, targets, template } = synthAll();
  const sourceStatements = statements(template(source));

  test('one target stack per other account, in that account and in the source region (a home that never moves)', () => {
    expect(targets.map((t) => [t.stackName, t.account, t.region])).toEqual([
      ['SsmReplicatorTarget-test-333333333333', '333333333333', 'us-east-1'],
      ['SsmReplicatorTarget-test-444444444444', '444444444444', 'us-east-1'],
    ]);
  });

  // A StackSet deploys the template into accounts that were never bootstrapped for CDK: the default
  // synthesizer's BootstrapVersion parameter (an SSM parameter of the bootstrap stack) and its rule would
  // fail every such stack instance (cdklabs/cdk-stacksets #327).
  test('the target template needs no CDK bootstrap: no BootstrapVersion parameter or rule, no asset', () => {
    for (const stack of targets) {
      const t = template(stack).toJSON();
      expect(t.Parameters?.BootstrapVersion).toBeUndefined();
      expect(t.Rules?.CheckBootstrapVersion).toBeUndefined();
      expect(JSON.stringify(t)).not.toContain('cdk-bootstrap');
    }
  });

  test('operators named in extraTrustedPrincipals may assume the target roles too, by ARN pattern', () => {
    const sso = 'arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*';
    const { targets: t2, template: t } = synthAll({ extraTrustedPrincipals: [sso] });
    const role = Object.values(t(t2[0]).findResources('AWS::IAM::Role'))[0] as any;
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Condition).toEqual({ ArnLike: { 'aws:PrincipalArn': [SOURCE_ROLE, sso] } });
    expect(() => parseConfig('x', { ...BASE, targets: TARGETS, extraTrustedPrincipals: ['arn:aws:iam::999999999999:role/other'] }))
      .toThrow(/extraTrustedPrincipals\[0\]: .* is not in this account/);
  });

  // Rule: to use a role in another account, the caller's own policy must allow sts:AssumeRole on that role
  // and the role's trust policy must allow the caller
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_aws-accounts.html).
  test('the function may assume exactly the target roles, and writes nothing itself in other accounts', () => {
    const assume = sourceStatements.filter((s) => actions(s).some((a) => a.startsWith('sts:')));
    expect(assume).toHaveLength(1);
    expect(actions(assume[0])).toEqual(['sts:AssumeRole']);
    expect(assume[0].Resource).toEqual(['333333333333', '444444444444'].map((a) => `arn:aws:iam::${a}:role/ssm-replicator-target-test`));
    for (const s of sourceStatements.filter((x) => !actions(x).some((a) => a.startsWith('sts:')))) {
      expect(resourceText(s)).not.toMatch(/333333333333|444444444444|us-west-2/);
    }
    // The role the target roles trust has a fixed name.
    const roles = template(source).findResources('AWS::IAM::Role', { Properties: { RoleName: 'ssm-replicator-test-us-east-1' } });
    expect(Object.keys(roles)).toHaveLength(1);
    const env = Object.values(template(source).findResources('AWS::Lambda::Function'))
      .map((f: any) => f.Properties.Environment?.Variables).find((v: any) => v?.TARGETS);
    expect(env.TARGETS).toBe(TARGETS.join(','));
    expect(env.TARGET_ROLE_NAME).toBe('ssm-replicator-target-test');
  });

  // Rule: a trust policy naming a role ARN as Principal is resolved to the role's unique id when saved, so it
  // fails while that role does not exist yet ("Invalid principal in policy") and stops matching if the role is
  // recreated; the account principal with aws:PrincipalArn names the role by ARN at request time
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles,
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
  test.each([0, 1])('target stack %i: trusted only by the replicator\'s role in the source account', (i) => {
    const roles = Object.values(template(targets[i]).findResources('AWS::IAM::Role')) as any[];
    expect(roles).toHaveLength(1);
    expect(roles[0].Properties.RoleName).toBe('ssm-replicator-target-test');
    expect(roles[0].Properties.ManagedPolicyArns).toBeUndefined();
    const trust = roles[0].Properties.AssumeRolePolicyDocument.Statement as any[];
    expect(trust).toHaveLength(1);
    expect(trust[0].Effect).toBe('Allow');
    expect(trust[0].Action).toBe('sts:AssumeRole');
    expect(JSON.stringify(trust[0].Principal)).toContain(':iam::111111111111:root');
    expect(trust[0].Condition).toEqual({ ArnEquals: { 'aws:PrincipalArn': SOURCE_ROLE } });
  });

  test('the DR account\'s role may write only under the prefixes in its own target regions, and list only there', () => {
    const [dr] = targets;
    const all = statements(template(dr));
    // Only its own account (the AWS::AccountId of wherever the template is deployed) and its target regions.
    const regions = (s: Statement) => [...resourceText(s).matchAll(/:(ssm|kms):([a-z0-9-]+):/g)].map((m) => m[2]);
    for (const s of all) {
      for (const region of regions(s)) expect(['us-west-2', 'eu-west-1']).toContain(region);
      expect(resourceText(s)).not.toMatch(/\d{12}/);
    }
    const write = all.find((s) => s.Sid === 'WriteReplicas')!;
    expect(actions(write)).toContain('ssm:PutParameter');
    expect(resourceText(write)).toContain(':ssm:us-west-2:');
    expect(resourceText(write)).toContain('AWS::AccountId');
    expect(resourceText(write)).toContain(':parameter/app/*');
    const list = all.find((s) => s.Sid === 'ListParameters')!;
    expect(list.Resource).toBe('*');
    expect(list.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['us-west-2', 'eu-west-1'] } });
    // Key material only through SSM there, for those parameters.
    for (const s of all.filter((x) => actions(x).some((a) => /^kms:(Decrypt|Encrypt|GenerateDataKey)/.test(a)))) {
      expect(s.Condition!.StringEquals['kms:ViaService']).toEqual(['ssm.us-west-2.amazonaws.com', 'ssm.eu-west-1.amazonaws.com']);
      expect(JSON.stringify(s.Condition!.StringLike['kms:EncryptionContext:PARAMETER_ARN'])).not.toMatch(/us-east|111111111111/);
    }
    expect(all.flatMap(actions).filter((a) => a === 'ssm:DeleteParameter')).toHaveLength(1);
  });

  test('without deletes the target role cannot delete either', () => {
    const { targets: off, template: t } = synthAll({ deleteReplicas: false });
    for (const stack of off) expect(statements(t(stack)).flatMap(actions)).not.toContain('ssm:DeleteParameter');
  });

  test('cdk-nag: zero unacknowledged findings on the source and the target stacks', () => {
    for (const stack of [source, ...targets]) {
      const annotations = Annotations.fromStack(stack);
      const found = [
        ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
        ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ];
      expect([stack.stackName, found.map((f) => `${f.id}: ${f.entry.data}`)]).toEqual([stack.stackName, []]);
    }
  });

  test('a single-account configuration has no fixed role name and no assume-role right (cdk diff stays clean)', () => {
    const { source: single, template: t } = synthAll({ targets: ['us-east-2', 'eu-west-1'] });
    expect(statements(t(single)).flatMap(actions).filter((a) => a.startsWith('sts:'))).toEqual([]);
    const named = t(single).findResources('AWS::IAM::Role', { Properties: { RoleName: Match.anyValue() } });
    expect(Object.keys(named)).toEqual([]);
  });
});
