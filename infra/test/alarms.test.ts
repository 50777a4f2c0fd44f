// Alarms that mean something (issue 11). Each metric-filter pattern is tied to the Rust log call it counts
// (read from function/src, so a renamed message or field fails here, not silently in production), and the
// alarms page only on what is left after the retries.
import * as fs from 'fs';
import * as path from 'path';
import { FILTERS } from '../lib/monitoring';
import { synth } from './helpers';

const SRC = path.join(__dirname, '..', '..', 'function', 'src');
const rustFiles = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? rustFiles(path.join(dir, e.name)) : e.name.endsWith('.rs') ? [path.join(dir, e.name)] : []);
const source = rustFiles(SRC).map((f) => fs.readFileSync(f, 'utf8')).join('\n');

/** The tracing calls (`info!(…, "message")`) whose message is `message`, with their field names. */
function logCalls(message: string): string[][] {
  // Calls with fields end with `);`; a bare `info!("message")` may end an expression (`=> info!(…),`).
  const calls = [
    ...[...source.matchAll(/\b(?:trace|debug|info|warn|error)!\(([\s\S]*?)\);/g)].map((m) => m[1]),
    ...[...source.matchAll(/\b(?:trace|debug|info|warn|error)!\(\s*("[^"]*")\s*\)\s*,/g)].map((m) => m[1]),
  ];
  return calls
    .filter((body) => new RegExp(`"${message}"\\s*,?\\s*$`).test(body.trim()))
    .map((body) => [...body.matchAll(/(?:^|,)\s*([a-z_]+)\s*=/g)].map((m) => m[1]));
}

/** The strings a Rust `as_str` of `enum` maps its variants to (report.rs). */
function codes(enumName: string): string[] {
  const report = fs.readFileSync(path.join(SRC, 'domain', 'report.rs'), 'utf8');
  const impl = report.split(`impl ${enumName} {`)[1].split('\n}\n')[0];
  return [...impl.matchAll(/=> "([a-z-]+)"/g)].map((m) => m[1]);
}

describe('metric filters match the log lines the function writes', () => {
  test('tracing writes JSON with the event fields under `fields` (what `$.fields.*` selects)', () => {
    const telemetry = fs.readFileSync(path.join(SRC, 'telemetry.rs'), 'utf8');
    expect(telemetry).toMatch(/\.json\(\)/);
    expect(telemetry).not.toMatch(/flatten_event\(true\)/);
  });

  test.each(Object.entries(FILTERS))('%s: its message, fields and values are those of a log call in function/src', (_name, pattern) => {
    const message = /\$\.fields\.message = "([^"]+)"/.exec(pattern)![1];
    const calls = logCalls(message);
    expect([message, calls.length]).toEqual([message, 1]);
    const comparisons = [...pattern.matchAll(/\$\.fields\.([a-z_]+) (?:=|!=) "([^"]+)"/g)].filter((m) => m[1] !== 'message');
    for (const [, field, value] of comparisons) {
      expect([field, calls[0]]).toEqual([field, expect.arrayContaining([field])]);
      if (field === 'outcome') expect(codes('Outcome')).toContain(value);
      if (field === 'reason') expect(codes('Reason')).toContain(value);
    }
  });

  test('the deployed metric filters use exactly these patterns', () => {
    const { template } = synth();
    const deployed = Object.values(template.findResources('AWS::Logs::MetricFilter')).map((f: any) =>
      [f.Properties.MetricTransformations[0].MetricName, f.Properties.FilterPattern]);
    expect(Object.fromEntries(deployed)).toEqual(FILTERS);
  });
});

describe('alarms page on what is left after retries', () => {
  const { template } = synth();
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];

  test('no alarm on Lambda Errors (each failed attempt, which Lambda retries)', () => {
    expect(alarms.filter((a) => a.Properties.MetricName === 'Errors')).toEqual([]);
  });

  test('dead letters of both queues, DestinationDeliveryFailures, permanent failed replications and an overdue full sync', () => {
    const metrics = alarms.map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`).sort();
    expect(metrics).toEqual([
      'AWS/Lambda/DestinationDeliveryFailures',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'SsmReplicator/FailedReplications',
      'SsmReplicator/FullSyncCompleted',
    ]);
  });

  test('a transient failure (retried) is not a failed replication', () => {
    expect(FILTERS.FailedReplications).toMatch(/\$\.fields\.reason != "transient"/);
    expect(codes('Reason')).toContain('transient');
  });
});
