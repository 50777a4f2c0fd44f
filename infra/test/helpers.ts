import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ReplicatorConfig, parseConfig } from '../lib/config';
import { ReplicatorStack } from '../lib/replicator-stack';

export const BASE = {
  account: '111111111111',
  sourceRegion: 'us-east-1',
  targets: ['us-east-2', 'eu-west-1'],
  selectionMode: 'tagged',
  selectionTag: 'replicate',
  pathPrefixes: ['/app/'],
  kmsKeys: { 'eu-west-1': 'alias/app-eu' },
  deleteReplicas: true,
  adoptUnmanaged: false,
  schedule: 'rate(1 hour)',
  cloudTrail: true,
  alarmEmail: 'oncall@example.com',
  logRetentionDays: 30,
  initialSync: false,
  reservedConcurrency: 5,
};

/** The context of cdk.json (the feature flags): tests synthesize what `cdk synth` does. */
export const CDK_CONTEXT: Record<string, unknown> =
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;

/** Synthesize the stack without building the Rust binary (bundling skipped), optionally with cdk-nag. */
export function synth(overrides: Record<string, unknown> = {}, nag = false) {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const config: ReplicatorConfig = parseConfig('test', { ...BASE, ...overrides });
  const stack = new ReplicatorStack(app, 'SsmReplicator-test', {
    env: { account: config.account, region: config.sourceRegion },
    config,
  });
  if (nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  app.synth();
  return { app, stack, config, template: Template.fromStack(stack) };
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of every IAM policy in the template: policies, managed policies, roles' inline policies. */
export function statements(template: Template): Statement[] {
  const out: Statement[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const res of Object.values(template.findResources(type))) {
      out.push(...((res as any).Properties.PolicyDocument.Statement as Statement[]));
    }
  }
  for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
    for (const inline of ((role as any).Properties.Policies ?? []) as any[]) out.push(...(inline.PolicyDocument.Statement as Statement[]));
  }
  return out;
}

export const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resources = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/**
 * The dashboard's body as JSON, its CloudFormation references written `<Ref:LogicalId>` and
 * `<GetAtt:LogicalId.Attribute>` (the body is an Fn::Join of strings and references such as the function's
 * name).
 */
export function dashboardBody(template: Template): any {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as any[];
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  const body = dashboards[0].Properties.DashboardBody;
  const parts: unknown[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  const text = (p: any): string => {
    if (typeof p === 'string') return p;
    if (p.Ref) return `<Ref:${p.Ref}>`;
    if (p['Fn::GetAtt']) return `<GetAtt:${p['Fn::GetAtt'].join('.')}>`;
    throw new Error(`unexpected part of the dashboard body: ${JSON.stringify(p)}`);
  };
  return JSON.parse(parts.map(text).join(''));
}

/** Resolve the CloudFormation intrinsics CDK leaves in a pattern (the partition in ARNs). */
export function resolve(v: any): any {
  if (Array.isArray(v)) return v.map(resolve);
  if (v && typeof v === 'object') {
    if ('Fn::Join' in v) return (v['Fn::Join'][1] as any[]).map(resolve).join(v['Fn::Join'][0]);
    if ('Ref' in v && v.Ref === 'AWS::Partition') return 'aws';
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
  }
  return v;
}

function leafMatches(value: unknown, filters: any[]): boolean {
  const present = value !== undefined;
  const values = Array.isArray(value) ? value : [value];
  return filters.some((f) => {
    if (f && typeof f === 'object' && 'exists' in f) return f.exists === present;
    if (!present) return false;
    if (f && typeof f === 'object' && 'prefix' in f) return values.some((x) => typeof x === 'string' && x.startsWith(f.prefix));
    return values.includes(f);
  });
}

/**
 * Whether an EventBridge pattern matches an event, with the semantics the rules rely on: exact values, `prefix`,
 * `{"exists": false}`, and an array field matching when any element does
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html,
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html). The emulator has no
 * TestEventPattern.
 */
export function matches(event: any, pattern: any): boolean {
  return Object.entries(pattern).every(([k, p]) =>
    Array.isArray(p) ? leafMatches(event?.[k], p) : matches(event?.[k] ?? {}, p));
}
