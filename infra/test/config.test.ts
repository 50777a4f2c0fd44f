import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, MAX_ALARM_WINDOW_SECONDS, driftAlarmWindow, functionEnvironment, loadEnvironment, parseConfig } from '../lib/config';
import { BASE } from './helpers';

const bad = (overrides: Record<string, unknown>) => () => parseConfig('dev', { ...BASE, ...overrides });

describe('environment configuration', () => {
  test('the shipped environments are valid', () => {
    for (const env of ['dev', 'prod', 'local']) {
      expect(loadEnvironment(env).name).toBe(env);
    }
  });

  test('every bad field is named in the error', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ sourceRegion: undefined }, /environments\/dev\.json: sourceRegion: is required/],
      [{ sourceRegion: 'useast1' }, /sourceRegion: 'useast1' is not an AWS region/],
      [{ targets: [] }, /targets: must be a non-empty list/],
      [{ targets: ['us-east-2', 'nowhere'] }, /targets\[1\]: 'nowhere' is not an AWS region/],
      [{ targets: ['us-east-1'] }, /targets\[0\]: 'us-east-1' is the source region of this account/],
      [{ targets: ['333333333333/us-east-1', '333333333333/us-east-1'] }, /targets\[1\]: '333333333333\/us-east-1' is listed twice/],
      [{ targets: ['111111111111/us-east-1'] }, /targets\[0\]: 'us-east-1' is the source region of this account/],
      [{ targets: ['1111/us-east-2'] }, /targets\[0\]: '1111\/us-east-2': '1111' is not a 12-digit account id/],
      [{ targets: ['111111111111/us-east-1'], account: undefined }, /account: is required with targets in other accounts/],
      [{ targetRegions: ['us-east-2'] }, /targetRegions: renamed targets/],
      [{ targetRoleName: 'has space' }, /targetRoleName: 'has space' is not an IAM role name/],
      [{ account: '12' }, /account: '12' is not a 12-digit account id/],
      [{ selectionMode: 'some' }, /selectionMode: 'some' is not 'tagged' or 'all'/],
      [{ pathPrefixes: ['app/'] }, /pathPrefixes\[0\]: 'app\/' is not a path/],
      [{ kmsKeys: { 'ap-south-1': 'alias/x' } }, /kmsKeys\.ap-south-1: 'ap-south-1' is not one of targets/],
      [{ schedule: 'every hour' }, /schedule: 'every hour' is not rate/],
      [{ schedule: 'rate(5 minutes)' }, /schedule: must leave at least 15 minutes/],
      [{ schedule: 'cron(0 * * * ? *)' }, /fullSyncIntervalMinutes: is required/],
      [{ deleteReplicas: 'yes' }, /deleteReplicas: must be true or false/],
      [{ alarmEmail: 'nobody' }, /alarmEmail: 'nobody' is not an e-mail address/],
      [{ logRetentionDays: 10 }, /logRetentionDays: must be one of/],
      [{ reservedConcurrency: 0 }, /reservedConcurrency: must be a whole number from 1 to 1000/],
      [{ latencyObjectiveMinutes: 0 }, /latencyObjectiveMinutes: must be a whole number from 1 to 480/],
      [{ latencyObjectiveMinutes: 481 }, /latencyObjectiveMinutes: must be a whole number from 1 to 480/],
      [{ latencyObjectiveMinutes: 7.5 }, /latencyObjectiveMinutes: must be a whole number from 1 to 480/],
      [{ latencyObjectiveMinutes: '15' }, /latencyObjectiveMinutes: must be a whole number from 1 to 480/],
      [{ colour: 'blue' }, /colour: unknown field/],
    ];
    for (const [overrides, message] of cases) {
      expect(bad(overrides)).toThrow(ConfigError);
      expect(bad(overrides)).toThrow(message);
    }
  });

  // Finding 5 (issue 11): what CloudFormation would reject fails synth instead. Rate expressions: "If the
  // value is equal to 1, then the unit must be singular. If the value is greater than 1, the unit must be
  // plural" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html). Alarms:
  // "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds"
  // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html). Reserved
  // concurrency: Lambda keeps 100 unreserved (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
  test('rate expressions: singular unit for 1, plural above (EventBridge rejects rate(1 hours) and rate(5 hour))', () => {
    expect(bad({ schedule: 'rate(1 hours)' })).toThrow(/schedule: 'rate\(1 hours\)': a value of 1 takes a singular unit \(rate\(1 hour\)\)/);
    expect(bad({ schedule: 'rate(5 hour)' })).toThrow(/schedule: 'rate\(5 hour\)': a value above 1 takes a plural unit \(rate\(5 hours\)\)/);
    expect(bad({ schedule: 'rate(2 day)' })).toThrow(ConfigError);
    expect(bad({ schedule: 'rate(1 days)' })).toThrow(ConfigError);
    expect(bad({ schedule: 'rate(30 minute)' })).toThrow(ConfigError);
    for (const schedule of ['rate(1 hour)', 'rate(5 hours)', 'rate(1 day)', 'rate(2 days)', 'rate(30 minutes)']) {
      expect(parseConfig('dev', { ...BASE, schedule }).schedule).toBe(schedule);
    }
  });

  test('the overdue alarm window (period × evaluation periods) stays within CloudWatch\'s 604,800 s', () => {
    // Twice the interval: 3.5 days between full syncs is the most.
    expect(parseConfig('dev', { ...BASE, schedule: 'rate(3 days)' }).fullSyncIntervalMinutes).toBe(4320);
    expect(parseConfig('dev', { ...BASE, schedule: 'cron(0 0 * * ? *)', fullSyncIntervalMinutes: 5040 }).fullSyncIntervalMinutes).toBe(5040);
    expect(bad({ schedule: 'rate(4 days)' })).toThrow(/schedule: a full sync every 5760 minutes gives the overdue alarm a 691200 s window .* at most 604800 s/);
    expect(bad({ schedule: 'cron(0 0 * * ? *)', fullSyncIntervalMinutes: 5041 })).toThrow(/at most 5040 minutes/);
  });

  test('latencyObjectiveMinutes is optional: 15 minutes (S3 Replication Time Control\'s promise) unless set', () => {
    expect(parseConfig('dev', BASE).latencyObjectiveMinutes).toBe(15);
    expect(parseConfig('dev', { ...BASE, latencyObjectiveMinutes: 5 }).latencyObjectiveMinutes).toBe(5);
    expect(parseConfig('dev', { ...BASE, latencyObjectiveMinutes: 480 }).latencyObjectiveMinutes).toBe(480);
  });

  test('the DriftRepaired alarm: a period of the full-sync interval (at least an hour), at least a day and two periods, within 604,800 s', () => {
    // Every interval the configuration accepts (15 minutes to 3.5 days).
    for (let interval = 15; interval <= 5040; interval += 1) {
      const { periodMinutes, evaluationPeriods } = driftAlarmWindow(interval);
      expect(periodMinutes).toBe(Math.max(interval, 60));
      expect(evaluationPeriods).toBeGreaterThanOrEqual(2);
      expect(periodMinutes * evaluationPeriods).toBeGreaterThanOrEqual(1440);
      expect(periodMinutes * 60 * evaluationPeriods).toBeLessThanOrEqual(MAX_ALARM_WINDOW_SECONDS);
    }
    expect(driftAlarmWindow(30)).toEqual({ periodMinutes: 60, evaluationPeriods: 24 });
    expect(driftAlarmWindow(5040)).toEqual({ periodMinutes: 5040, evaluationPeriods: 2 });
  });

  test('reservedConcurrency is optional: absent means none', () => {
    const { reservedConcurrency: _omitted, ...rest } = BASE;
    expect(parseConfig('dev', rest).reservedConcurrency).toBeUndefined();
    expect(loadEnvironment('dev').reservedConcurrency).toBeUndefined();
    // prod caps the burst a bulk change fans out into (events wait in Lambda's queue instead of taking
    // Parameter Store's 40 read TPS from the applications); a prod account has the N + 100 it needs.
    expect(loadEnvironment('prod').reservedConcurrency).toBe(5);
  });

  test('rate schedules give the full-sync interval', () => {
    expect(parseConfig('dev', { ...BASE, schedule: 'rate(2 hours)' }).fullSyncIntervalMinutes).toBe(120);
    expect(parseConfig('dev', { ...BASE, schedule: 'cron(0 3 * * ? *)', fullSyncIntervalMinutes: 1440 }).fullSyncIntervalMinutes).toBe(1440);
  });

  test('the function environment carries the configuration', () => {
    expect(functionEnvironment(parseConfig('dev', BASE))).toEqual({
      SOURCE_REGION: 'us-east-1',
      TARGETS: 'us-east-2,eu-west-1',
      TARGET_ROLE_NAME: 'ssm-replicator-target-dev',
      SELECTION_MODE: 'tagged',
      SELECTION_TAG: 'replicate',
      PATH_PREFIXES: '/app/',
      KMS_KEY_MAP: 'eu-west-1=alias/app-eu',
      DELETE_REPLICAS: 'true',
      ADOPT_UNMANAGED: 'false',
      REPLICATE_LABELS: 'false',
      RECREATE_REPLICAS: 'false',
      PRUNE_DESELECTED: 'false',
      SECRETS: 'false',
      SECRET_PREFIXES: '',
      FULL_SYNC_RESERVE_SECONDS: '90',
      RUST_LOG: 'info',
    });
  });

  // Secret names: "The secret name can contain ASCII letters, numbers, and the following characters: /_+=.@-",
  // at most 512 characters (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html).
  test('secrets: off when absent; enabled needs at least one prefix; a prefix is 1-512 of the characters a secret name may have', () => {
    expect(parseConfig('dev', BASE).secrets).toEqual({ enabled: false, namePrefixes: [] });
    expect(parseConfig('dev', { ...BASE, secrets: { enabled: true, namePrefixes: ['prod/', 'a_b+c=d.e@f-g'] } }).secrets)
      .toEqual({ enabled: true, namePrefixes: ['prod/', 'a_b+c=d.e@f-g'] });
    expect(parseConfig('dev', { ...BASE, secrets: { enabled: true, namePrefixes: ['x'.repeat(512)] } }).secrets.namePrefixes).toHaveLength(1);
    // Disabled, prefixes may wait for the day it is switched on.
    expect(parseConfig('dev', { ...BASE, secrets: { enabled: false } }).secrets).toEqual({ enabled: false, namePrefixes: [] });
    const cases: [unknown, RegExp][] = [
      [{ enabled: true }, /environments\/dev\.json: secrets\.namePrefixes: needs at least one prefix \(such as prod\/\) when secrets\.enabled is true/],
      [{ enabled: true, namePrefixes: [] }, /secrets\.namePrefixes: needs at least one prefix/],
      [{ enabled: true, namePrefixes: [''] }, /secrets\.namePrefixes\[0\]: '' is not a secret name prefix \(1-512 of ASCII letters, digits and \/_\+=\.@-\)/],
      [{ enabled: true, namePrefixes: ['prod/', 'prod/*'] }, /secrets\.namePrefixes\[1\]: 'prod\/\*' is not a secret name prefix/],
      [{ enabled: true, namePrefixes: ['has space/'] }, /secrets\.namePrefixes\[0\]: 'has space\/' is not a secret name prefix/],
      [{ enabled: true, namePrefixes: ['prod?'] }, /secrets\.namePrefixes\[0\]: 'prod\?' is not a secret name prefix/],
      [{ enabled: true, namePrefixes: ['é/'] }, /secrets\.namePrefixes\[0\]: 'é\/' is not a secret name prefix/],
      [{ enabled: true, namePrefixes: ['x'.repeat(513)] }, /secrets\.namePrefixes\[0\]: 'x+' is not a secret name prefix/],
      [{ enabled: true, namePrefixes: [7] }, /secrets\.namePrefixes\[0\]: '7' is not a secret name prefix/],
      [{ enabled: true, namePrefixes: ['prod/', 'prod/'] }, /secrets\.namePrefixes\[1\]: 'prod\/' is listed twice/],
      [{ enabled: true, namePrefixes: 'prod/' }, /secrets\.namePrefixes: must be a list of secret name prefixes/],
      [{ enabled: 'yes', namePrefixes: ['prod/'] }, /secrets\.enabled: must be true or false/],
      [{ namePrefixes: ['prod/'] }, /secrets\.enabled: is required/],
      [{ enabled: true, namePrefixes: ['prod/'], prefixes: ['x/'] }, /secrets\.prefixes: unknown field \(known: enabled, namePrefixes\)/],
      [true, /environments\/dev\.json: secrets: must be an object/],
      [['prod/'], /secrets: must be an object/],
    ];
    for (const [secrets, message] of cases) {
      expect(bad({ secrets })).toThrow(ConfigError);
      expect(bad({ secrets })).toThrow(message);
    }
  });

  test('the shipped environments: secrets on in local (the demo and the deploy test), present but off in dev and prod', () => {
    expect(loadEnvironment('local').secrets).toEqual({ enabled: true, namePrefixes: ['demo/'] });
    expect(loadEnvironment('dev').secrets.enabled).toBe(false);
    expect(loadEnvironment('prod').secrets.enabled).toBe(false);
  });

  test('recreation and pruning are off unless the environment file switches them on', () => {
    const on = functionEnvironment(parseConfig('dev', { ...BASE, recreateReplicas: true, pruneDeselected: true }));
    expect([on.RECREATE_REPLICAS, on.PRUNE_DESELECTED]).toEqual(['true', 'true']);
    const off = parseConfig('dev', BASE);
    expect([off.recreateReplicas, off.pruneDeselected]).toEqual([false, false]);
    expect(() => parseConfig('dev', { ...BASE, pruneDeselected: 'yes' })).toThrow(/pruneDeselected: must be true or false/);
    expect(() => parseConfig('dev', { ...BASE, recreateReplicas: 1 })).toThrow(/recreateReplicas: must be true or false/);
  });
});

describe('synth', () => {
  const app = path.join(__dirname, '..', 'bin', 'app.ts');
  const tsNode = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'ts-node');
  const run = (context: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env) =>
    spawnSync(tsNode, ['--prefer-ts-exts', app], {
      env: { ...env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-')) },
      encoding: 'utf8',
    });
  /** A PATH with node and nothing else: no cargo, cargo-lambda, zig or python3. */
  const nodeOnly = () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'bin-'));
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const { CARGO_ZIGBUILD_ZIG_PATH: _zig, ...rest } = process.env;
    return { ...rest, PATH: bin };
  };

  // Finding 4 (issue 11): without cargo-lambda, cargo-lambda-cdk switches to Docker bundling on its own (or
  // fails deep inside a build). The app stops first and names what is missing.
  test('a synth that must build the function stops, naming what is missing, when cargo-lambda and zig are absent', () => {
    const r = run({ env: 'dev' }, nodeOnly());
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ssm-replicator: cannot build the Lambda function: missing cargo \(.*cargo-lambda \(.*zig \(/);
    expect(r.stderr).toMatch(/-c bundling=docker/);
  });

  test('a synth that skips bundling (unit tests, cdk destroy) needs none of them', () => {
    const r = run({ env: 'dev', 'aws:cdk:bundling-stacks': [] }, nodeOnly());
    expect(r.stderr).not.toMatch(/cannot build/);
    expect(r.status).toBe(0);
  });

  test('an unknown env fails with a message naming it', () => {
    const r = run({ env: 'nope' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown env 'nope'/);
  });

  test('a missing or invalid field fails synth with a message naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envs-'));
    const { targets: _omitted, ...missing } = BASE;
    fs.writeFileSync(path.join(dir, 'missing.json'), JSON.stringify(missing));
    fs.writeFileSync(path.join(dir, 'invalid.json'), JSON.stringify({ ...BASE, logRetentionDays: 'forever' }));
    let r = run({ env: 'missing', environmentsDir: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/environments\/missing\.json: targets: must be a non-empty list/);
    r = run({ env: 'invalid', environmentsDir: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/environments\/invalid\.json: logRetentionDays: must be a whole number/);
  });
});
