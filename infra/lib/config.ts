// Per-environment configuration: typed, validated, with errors that name the file and the field.
import * as fs from 'fs';
import * as path from 'path';

export interface ReplicatorConfig {
  /** The environment's name (the file name in environments/). */
  readonly name: string;
  /** Deploy into this account; omitted: the account of the credentials in use. */
  readonly account?: string;
  readonly sourceRegion: string;
  readonly targetRegions: string[];
  readonly selectionMode: 'tagged' | 'all';
  readonly selectionTag: string;
  /** Path prefixes such as /app/; empty: every parameter (and the IAM policy covers all of them). */
  readonly pathPrefixes: string[];
  /** Target region → KMS key id, alias or ARN for SecureStrings there (KMS_KEY_MAP). */
  readonly kmsKeys: Record<string, string>;
  readonly deleteReplicas: boolean;
  readonly adoptUnmanaged: boolean;
  /** EventBridge schedule for the full sync: rate(...) or cron(...). */
  readonly schedule: string;
  /** Minutes between full syncs; derived from rate(...), required with cron(...). */
  readonly fullSyncIntervalMinutes: number;
  /** A CloudTrail trail records SSM management events: enables the tag-change rule. */
  readonly cloudTrail: boolean;
  readonly alarmEmail?: string;
  readonly logRetentionDays: number;
  /** Run one full sync after each deploy. */
  readonly initialSync: boolean;
  /** CloudFormation termination protection on the stack (default off; on in prod.json). */
  readonly terminationProtection: boolean;
  /** Reserved concurrency of the function; absent: none (the function shares the account's pool). */
  readonly reservedConcurrency?: number;
}

export class ConfigError extends Error {}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const PREFIX = /^\/[a-zA-Z0-9_.\-/]*$/;
/** Retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const FIELDS = [
  'account', 'sourceRegion', 'targetRegions', 'selectionMode', 'selectionTag', 'pathPrefixes', 'kmsKeys',
  'deleteReplicas', 'adoptUnmanaged', 'schedule', 'fullSyncIntervalMinutes', 'cloudTrail', 'alarmEmail',
  'logRetentionDays', 'initialSync', 'reservedConcurrency', 'terminationProtection',
];

export const ENVIRONMENTS_DIR = path.join(__dirname, '..', 'environments');

/**
 * The "full sync overdue" alarm's period: twice the full-sync interval, at least 30 minutes. The alarm
 * evaluates one period. CloudWatch: "Period multiplied by EvaluationPeriods can't be more than 604,800
 * seconds" (and 86,400 s for periods under an hour),
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html (the Period
 * field; the same text: https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/cloudwatch/aws.sdk.kotlin.services.cloudwatch.model/-put-metric-alarm-request/period.html)
 */
export function overduePeriodMinutes(fullSyncIntervalMinutes: number): number {
  return Math.max(fullSyncIntervalMinutes * 2, 30);
}
export const OVERDUE_EVALUATION_PERIODS = 1;
/** CloudWatch's bound on period × evaluation periods for periods of an hour or more (seven days). */
export const MAX_ALARM_WINDOW_SECONDS = 604_800;

/** Read and validate environments/<name>.json. */
export function loadEnvironment(name: string, dir = ENVIRONMENTS_DIR): ReplicatorConfig {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    throw new ConfigError(`env '${name}' is not an environment name (lower-case letters, digits, dashes)`);
  }
  const file = path.join(dir, `${name}.json`);
  if (!fs.existsSync(file)) {
    const known = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    throw new ConfigError(`unknown env '${name}': no ${path.relative(process.cwd(), file)} (known: ${known.join(', ')})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`environments/${name}.json is not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(name, raw);
}

/** Validate a raw environment object; every error names `environments/<name>.json` and the field. */
export function parseConfig(name: string, raw: unknown): ReplicatorConfig {
  const where = `environments/${name}.json`;
  const fail = (field: string, problem: string): never => {
    throw new ConfigError(`${where}: ${field}: ${problem}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: must be a JSON object`);
  }
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!FIELDS.includes(key)) fail(key, `unknown field (known: ${FIELDS.join(', ')})`);
  }
  const str = (field: string, required = true): string | undefined => {
    const v = o[field];
    if (v === undefined) return required ? fail(field, 'is required') : undefined;
    if (typeof v !== 'string' || v.length === 0) return fail(field, 'must be a non-empty string');
    return v;
  };
  const bool = (field: string): boolean => {
    const v = o[field];
    if (typeof v !== 'boolean') return fail(field, v === undefined ? 'is required' : 'must be true or false');
    return v as boolean;
  };
  const int = (field: string, min: number, max: number): number => {
    const v = o[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return fail(field, v === undefined ? 'is required' : `must be a whole number from ${min} to ${max}`);
    }
    return v as number;
  };
  const region = (field: string, v: unknown): string => {
    if (typeof v !== 'string' || !REGION.test(v)) return fail(field, `'${String(v)}' is not an AWS region such as us-east-2`);
    return v as string;
  };

  const account = str('account', false);
  if (account !== undefined && !ACCOUNT.test(account)) fail('account', `'${account}' is not a 12-digit account id`);
  const sourceRegion = region('sourceRegion', str('sourceRegion'));

  const targets = o.targetRegions;
  if (!Array.isArray(targets) || targets.length === 0) fail('targetRegions', 'must be a non-empty list of regions');
  const targetRegions = (targets as unknown[]).map((t, i) => region(`targetRegions[${i}]`, t));
  targetRegions.forEach((t, i) => {
    if (t === sourceRegion) fail(`targetRegions[${i}]`, `'${t}' is the source region`);
    if (targetRegions.indexOf(t) !== i) fail(`targetRegions[${i}]`, `'${t}' is listed twice`);
  });

  const selectionMode = str('selectionMode');
  if (selectionMode !== 'tagged' && selectionMode !== 'all') fail('selectionMode', `'${selectionMode}' is not 'tagged' or 'all'`);
  const selectionTag = str('selectionTag') as string;
  if (selectionTag.length > 128 || selectionTag.toLowerCase().startsWith('aws:')) {
    fail('selectionTag', 'must be a tag key of at most 128 characters, not starting with aws:');
  }

  const prefixes = o.pathPrefixes;
  if (!Array.isArray(prefixes)) fail('pathPrefixes', 'must be a list of paths such as /app/ (empty: all parameters)');
  const pathPrefixes = (prefixes as unknown[]).map((p, i) => {
    if (typeof p !== 'string' || !PREFIX.test(p) || p.includes('//')) return fail(`pathPrefixes[${i}]`, `'${String(p)}' is not a path such as /app/`);
    if (/^\/(aws|ssm)/i.test(p)) return fail(`pathPrefixes[${i}]`, `'${p}' uses a reserved prefix`);
    return p as string;
  });

  const keys = o.kmsKeys ?? {};
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) fail('kmsKeys', 'must be an object of region → key');
  const kmsKeys: Record<string, string> = {};
  for (const [r, k] of Object.entries(keys as Record<string, unknown>)) {
    if (!targetRegions.includes(r)) fail(`kmsKeys.${r}`, `'${r}' is not one of targetRegions`);
    if (typeof k !== 'string' || k.length === 0 || /[,=]/.test(k)) fail(`kmsKeys.${r}`, 'must be a key id, alias or ARN');
    // A key ARN names its account and region. Replicas are written in this account only (cross-account
    // targets do not exist yet), and the role may use only this account's keys: refuse it here rather than
    // fail on every SecureString at run time.
    const arn = /^arn:[a-z-]+:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/.+$/.exec(k as string);
    if ((k as string).startsWith('arn:')) {
      if (!arn) fail(`kmsKeys.${r}`, `'${k}' is not a KMS key or alias ARN`);
      const [, keyRegion, keyAccount] = arn as RegExpExecArray;
      if (account === undefined) fail(`kmsKeys.${r}`, 'a key ARN needs `account` set, to check that the key is in the account replicas are written to');
      if (keyAccount !== account) {
        fail(`kmsKeys.${r}`, `'${k}' is in account ${keyAccount}, not ${account}: cross-account keys are not supported (replicas are written in this account only)`);
      }
      if (keyRegion !== r) fail(`kmsKeys.${r}`, `'${k}' is a key in ${keyRegion}, not ${r}`);
    }
    kmsKeys[r] = k as string;
  }

  const schedule = str('schedule') as string;
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule);
  let fullSyncIntervalMinutes: number;
  if (rate) {
    const n = Number(rate[1]);
    fullSyncIntervalMinutes = n * (rate[2].startsWith('minute') ? 1 : rate[2].startsWith('hour') ? 60 : 1440);
    if (n === 0) fail('schedule', 'must not be rate(0 ...)');
    // EventBridge: "If the value is equal to 1, then the unit must be singular. If the value is greater
    // than 1, the unit must be plural" (rate(1 hours) and rate(5 hour) are rejected).
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html
    const plural = rate[2].endsWith('s');
    if (n === 1 && plural) fail('schedule', `'${schedule}': a value of 1 takes a singular unit (rate(1 ${rate[2].slice(0, -1)}))`);
    if (n > 1 && !plural) fail('schedule', `'${schedule}': a value above 1 takes a plural unit (rate(${n} ${rate[2]}s))`);
    if (o.fullSyncIntervalMinutes !== undefined) fail('fullSyncIntervalMinutes', 'is derived from schedule rate(...); remove it');
  } else if (/^cron\(.+\)$/.test(schedule)) {
    fullSyncIntervalMinutes = int('fullSyncIntervalMinutes', 1, 10080);
  } else {
    return fail('schedule', `'${schedule}' is not rate(N minutes|hours|days) or cron(...)`);
  }
  if (fullSyncIntervalMinutes < 15) fail('schedule', 'must leave at least 15 minutes between full syncs (a full sync may take that long)');
  const window = overduePeriodMinutes(fullSyncIntervalMinutes) * 60 * OVERDUE_EVALUATION_PERIODS;
  if (window > MAX_ALARM_WINDOW_SECONDS) {
    fail('schedule', `a full sync every ${fullSyncIntervalMinutes} minutes gives the overdue alarm a ${window} s window ` +
      `(twice the interval); CloudWatch allows at most ${MAX_ALARM_WINDOW_SECONDS} s, so at most ` +
      `${MAX_ALARM_WINDOW_SECONDS / 60 / 2 / OVERDUE_EVALUATION_PERIODS} minutes (3.5 days) between full syncs`);
  }

  const alarmEmail = str('alarmEmail', false);
  if (alarmEmail !== undefined && !EMAIL.test(alarmEmail)) fail('alarmEmail', `'${alarmEmail}' is not an e-mail address`);
  const logRetentionDays = int('logRetentionDays', 1, 3653);
  if (!RETENTION_DAYS.includes(logRetentionDays)) fail('logRetentionDays', `must be one of ${RETENTION_DAYS.join(', ')}`);

  return {
    name,
    account,
    sourceRegion,
    targetRegions,
    selectionMode: selectionMode as 'tagged' | 'all',
    selectionTag,
    pathPrefixes,
    kmsKeys,
    deleteReplicas: bool('deleteReplicas'),
    adoptUnmanaged: bool('adoptUnmanaged'),
    schedule,
    fullSyncIntervalMinutes,
    cloudTrail: bool('cloudTrail'),
    alarmEmail,
    logRetentionDays,
    initialSync: bool('initialSync'),
    terminationProtection: o.terminationProtection === undefined ? false : bool('terminationProtection'),
    // Optional. Lambda keeps at least 100 of the account's concurrency unreserved, so reserving N needs an
    // account limit of N + 100 or more; new accounts can have less ("You can reserve up to the Unreserved
    // account concurrency value that is shown, minus 100"),
    // https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
    reservedConcurrency: o.reservedConcurrency === undefined ? undefined : int('reservedConcurrency', 1, 1000),
  };
}

/** The function's environment (the variables documented in the README). */
export function functionEnvironment(c: ReplicatorConfig): Record<string, string> {
  return {
    SOURCE_REGION: c.sourceRegion,
    TARGET_REGIONS: c.targetRegions.join(','),
    SELECTION_MODE: c.selectionMode,
    SELECTION_TAG: c.selectionTag,
    PATH_PREFIXES: c.pathPrefixes.join(','),
    KMS_KEY_MAP: Object.entries(c.kmsKeys).map(([r, k]) => `${r}=${k}`).join(','),
    DELETE_REPLICAS: String(c.deleteReplicas),
    ADOPT_UNMANAGED: String(c.adoptUnmanaged),
    FULL_SYNC_RESERVE_SECONDS: '90',
    RUST_LOG: 'info',
  };
}
