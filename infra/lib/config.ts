// Per-environment configuration: typed, validated, with errors that name the file and the field.
import * as fs from 'fs';
import * as path from 'path';

/** Where replicas go: a region of this account, or a region of another account (`account` set). */
export interface Target {
  readonly account?: string;
  readonly region: string;
}

/** `us-east-2` or `111111111111/eu-west-1`, as TARGETS and the selection tag write it. */
export const targetName = (t: Target): string => (t.account ? `${t.account}/${t.region}` : t.region);

/** Secrets Manager secrets replicated alongside parameters (SECRETS, SECRET_PREFIXES). */
export interface SecretsConfig {
  /** Off by default. */
  readonly enabled: boolean;
  /** Secret name prefixes (`prod/`); they bound the selection and the IAM policy. At least one when enabled. */
  readonly namePrefixes: string[];
}

export interface ReplicatorConfig {
  /** The environment's name (the file name in environments/). */
  readonly name: string;
  /** Deploy into this account; omitted: the account of the credentials in use (not with other accounts). */
  readonly account?: string;
  readonly sourceRegion: string;
  /** Every target, as configured (`targets`). */
  readonly targets: Target[];
  /** The targets in this account: their regions. */
  readonly targetRegions: string[];
  /** Targets in other accounts: account → its target regions (each account gets a target stack). */
  readonly targetAccounts: Record<string, string[]>;
  /** The role the target stack creates in every other target account, and the function assumes there. */
  readonly targetRoleName: string;
  /**
   * ARN patterns of principals of the source account that may also assume the target roles, besides the
   * function's role: operators running the CLI (`arn:aws:iam::…:role/aws-reserved/sso.amazonaws.com/…/AWSReservedSSO_Admin_*`).
   */
  readonly extraTrustedPrincipals: string[];
  readonly selectionMode: 'tagged' | 'all';
  readonly selectionTag: string;
  /** Path prefixes such as /app/; empty: every parameter (and the IAM policy covers all of them). */
  readonly pathPrefixes: string[];
  /** Target (`us-east-2`, `111111111111/eu-west-1`) → KMS key id, alias or ARN for SecureStrings there. */
  readonly kmsKeys: Record<string, string>;
  readonly deleteReplicas: boolean;
  readonly adoptUnmanaged: boolean;
  /** Replicate parameter labels (REPLICATE_LABELS; default off: a history read per parameter per full sync). */
  readonly replicateLabels: boolean;
  /** Delete and recreate an owned replica whose type (or Advanced → Standard) must change. Default false. */
  readonly recreateReplicas: boolean;
  /** Delete owned replicas whose source exists but no longer selects their target. Default false. */
  readonly pruneDeselected: boolean;
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
  /**
   * Replication latency objective (source change, or full sync start, to replica written), in minutes: the
   * ReplicationLatencyP99 alarm's threshold and the line on the dashboard's latency graph. Default 15.
   */
  readonly latencyObjectiveMinutes: number;
  /** Secrets Manager secrets (`secrets` in the file; absent: disabled). */
  readonly secrets: SecretsConfig;
}

export class ConfigError extends Error {}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const PREFIX = /^\/[a-zA-Z0-9_.\-/]*$/;
/** Retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
/**
 * A secret name prefix: the characters a secret name may have ("The secret name can contain ASCII letters,
 * numbers, and the following characters: /_+=.@-"), 1 to 512 of them (the name's length constraint),
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html (Name). No `*` or `?`:
 * the prefix becomes an IAM ARN pattern (`secret:PREFIX*`), where they would be wildcards.
 */
const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const FIELDS = [
  'account', 'sourceRegion', 'targets', 'targetRoleName', 'extraTrustedPrincipals', 'selectionMode', 'selectionTag', 'pathPrefixes', 'kmsKeys',
  'deleteReplicas', 'adoptUnmanaged', 'schedule', 'fullSyncIntervalMinutes', 'cloudTrail', 'alarmEmail',
  'logRetentionDays', 'initialSync', 'reservedConcurrency', 'terminationProtection', 'latencyObjectiveMinutes',
  'replicateLabels',
  'recreateReplicas', 'pruneDeselected', 'secrets',
];
const SECRETS_FIELDS = ['enabled', 'namePrefixes'];

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

/**
 * Default replication latency objective: 15 minutes, what S3 Replication Time Control promises for 99.99 %
 * of objects (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html).
 */
export const DEFAULT_LATENCY_OBJECTIVE_MINUTES = 15;
/**
 * The most the objective may be (8 hours): no event-path replica is later than EventBridge's retries (2
 * hours, the rules' MaximumEventAgeInSeconds) plus Lambda's maximum event age (6 hours, the function's): an
 * older event goes to a dead-letter queue instead of being replicated late, so a larger objective could
 * never be breached. https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html
 */
export const MAX_LATENCY_OBJECTIVE_MINUTES = 480;

/**
 * The DriftRepaired alarm's window: it pages when full syncs keep repairing drift (events keep being lost)
 * for a day, not when one full sync repairs something. Parameter Store events are best effort, so an
 * occasional repair is the design working; and a first deployment's initial full sync writes every replica
 * once, which must page nobody.
 *
 * Period: the full-sync interval, at least an hour (with a period as short as a 15-minute interval, a full
 * sync whose writes land just after a period boundary leaves a period without data, which resets the alarm:
 * timing, not drift, would decide; an hour holds two or more full syncs). Evaluation periods: enough to
 * cover a day, at least two. The alarm needs every one of them breaching (datapointsToAlarm = evaluation
 * periods), with missing data (no full sync wrote anything) not breaching: drift in each full-sync period
 * for a day — and at least two full syncs in a row — pages; the initial full sync alone never can, even a
 * large one that writes for several hours at Parameter Store's ~3 write TPS.
 *
 * Window (period × evaluation periods): under two days for intervals under a day; twice the interval above
 * that, which the interval's bound (3.5 days, see the overdue alarm) keeps within CloudWatch's 604,800 s
 * ("Period multiplied by EvaluationPeriods can't be more than 604,800 seconds. For alarms with a period of
 * less than one hour (3,600 seconds), the total evaluation period can't be longer than one day",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 */
export function driftAlarmWindow(fullSyncIntervalMinutes: number): { periodMinutes: number; evaluationPeriods: number } {
  const periodMinutes = Math.max(fullSyncIntervalMinutes, 60);
  return { periodMinutes, evaluationPeriods: Math.max(Math.ceil(1440 / periodMinutes), 2) };
}

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
  if (o.targetRegions !== undefined) fail('targetRegions', 'renamed targets (regions, and ACCOUNT/REGION for other accounts)');
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

  const rawTargets = o.targets;
  if (!Array.isArray(rawTargets) || rawTargets.length === 0) {
    fail('targets', 'must be a non-empty list of targets such as us-east-2 or 111111111111/eu-west-1');
  }
  const targets: Target[] = (rawTargets as unknown[]).map((t, i) => {
    const field = `targets[${i}]`;
    if (typeof t !== 'string') return fail(field, 'must be a string such as us-east-2 or 111111111111/eu-west-1');
    const slash = t.indexOf('/');
    if (slash < 0) return { region: region(field, t) };
    const targetAccount = t.slice(0, slash);
    if (!ACCOUNT.test(targetAccount)) return fail(field, `'${t}': '${targetAccount}' is not a 12-digit account id`);
    const r = region(field, t.slice(slash + 1));
    // This account written out is this account.
    return targetAccount === account ? { region: r } : { account: targetAccount, region: r };
  });
  const names = targets.map(targetName);
  targets.forEach((t, i) => {
    if (!t.account && t.region === sourceRegion) fail(`targets[${i}]`, `'${names[i]}' is the source region of this account`);
    if (names.indexOf(names[i]) !== i) fail(`targets[${i}]`, `'${names[i]}' is listed twice`);
  });
  const targetRegions = targets.filter((t) => !t.account).map((t) => t.region);
  const targetAccounts: Record<string, string[]> = {};
  for (const t of targets.filter((t) => t.account)) (targetAccounts[t.account as string] ??= []).push(t.region);
  if (Object.keys(targetAccounts).length > 0 && account === undefined) {
    fail('account', 'is required with targets in other accounts (their roles trust the replicator\'s role in this account)');
  }
  const targetRoleName = str('targetRoleName', false) ?? `ssm-replicator-target-${name}`;
  const extra = o.extraTrustedPrincipals ?? [];
  if (!Array.isArray(extra)) fail('extraTrustedPrincipals', 'must be a list of role ARNs (wildcards allowed) in this account');
  const extraTrustedPrincipals = (extra as unknown[]).map((p, i) => {
    const field = `extraTrustedPrincipals[${i}]`;
    const m = typeof p === 'string' ? /^arn:[a-z-]+:iam::(\d{12}):role\/.+$/.exec(p) : null;
    if (!m) return fail(field, `'${String(p)}' is not a role ARN (arn:aws:iam::ACCOUNT:role/…, wildcards allowed)`);
    if (m[1] !== account) return fail(field, `'${p}' is not in this account (${account ?? 'account not set'})`);
    return p as string;
  });
  if (!ROLE_NAME.test(targetRoleName)) fail('targetRoleName', `'${targetRoleName}' is not an IAM role name (1-64 of letters, digits and +=,.@_-)`);
  if (sourceRoleName({ name, sourceRegion }).length > 64) {
    fail('sourceRegion', `the function's role name '${sourceRoleName({ name, sourceRegion })}' would exceed 64 characters: use a shorter environment name`);
  }

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
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) fail('kmsKeys', 'must be an object of target → key');
  const kmsKeys: Record<string, string> = {};
  for (const [written, k] of Object.entries(keys as Record<string, unknown>)) {
    const field = `kmsKeys.${written}`;
    // A target written with this account's id is the plain region.
    const t = account !== undefined && written.startsWith(`${account}/`) ? written.slice(account.length + 1) : written;
    const target = targets.find((x) => targetName(x) === t);
    if (!target) fail(field, `'${written}' is not one of targets`);
    if (typeof k !== 'string' || k.length === 0 || /[,=]/.test(k)) fail(field, 'must be a key id, alias or ARN');
    // A key ARN names its account and region: it must be the target's, or every SecureString would fail
    // there at run time (and the roles may use only keys of the account they are in).
    const arn = /^arn:[a-z-]+:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/.+$/.exec(k as string);
    if ((k as string).startsWith('arn:')) {
      if (!arn) fail(field, `'${k}' is not a KMS key or alias ARN`);
      const [, keyRegion, keyAccount] = arn as RegExpExecArray;
      const expected = target!.account ?? account;
      if (expected === undefined) fail(field, 'a key ARN needs `account` set, to check that the key is in the account replicas are written to');
      if (keyAccount !== expected) {
        fail(field, `'${k}' is in account ${keyAccount}, not ${expected}: a replica in ${targetName(target!)} must use a key of its own account`);
      }
      if (keyRegion !== target!.region) fail(field, `'${k}' is a key in ${keyRegion}, not ${target!.region}`);
    }
    kmsKeys[targetName(target!)] = k as string;
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
  const drift = driftAlarmWindow(fullSyncIntervalMinutes);
  if (drift.periodMinutes * 60 * drift.evaluationPeriods > MAX_ALARM_WINDOW_SECONDS) {
    fail('schedule', `a full sync every ${fullSyncIntervalMinutes} minutes gives the DriftRepaired alarm a window over ${MAX_ALARM_WINDOW_SECONDS} s`);
  }
  const latencyObjectiveMinutes = o.latencyObjectiveMinutes === undefined
    ? DEFAULT_LATENCY_OBJECTIVE_MINUTES
    : int('latencyObjectiveMinutes', 1, MAX_LATENCY_OBJECTIVE_MINUTES);

  const secrets = parseSecrets(o.secrets, fail);

  const alarmEmail = str('alarmEmail', false);
  if (alarmEmail !== undefined && !EMAIL.test(alarmEmail)) fail('alarmEmail', `'${alarmEmail}' is not an e-mail address`);
  const logRetentionDays = int('logRetentionDays', 1, 3653);
  if (!RETENTION_DAYS.includes(logRetentionDays)) fail('logRetentionDays', `must be one of ${RETENTION_DAYS.join(', ')}`);

  return {
    name,
    account,
    sourceRegion,
    targets,
    targetRegions,
    targetAccounts,
    targetRoleName,
    extraTrustedPrincipals,
    selectionMode: selectionMode as 'tagged' | 'all',
    selectionTag,
    pathPrefixes,
    kmsKeys,
    deleteReplicas: bool('deleteReplicas'),
    adoptUnmanaged: bool('adoptUnmanaged'),
    replicateLabels: o.replicateLabels === undefined ? false : bool('replicateLabels'),
    recreateReplicas: o.recreateReplicas === undefined ? false : bool('recreateReplicas'),
    pruneDeselected: o.pruneDeselected === undefined ? false : bool('pruneDeselected'),
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
    latencyObjectiveMinutes,
    secrets,
  };
}

/** `secrets`: absent means disabled; enabled needs at least one name prefix. */
function parseSecrets(raw: unknown, fail: (field: string, problem: string) => never): SecretsConfig {
  if (raw === undefined) return { enabled: false, namePrefixes: [] };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail('secrets', 'must be an object such as { "enabled": true, "namePrefixes": ["prod/"] }');
  }
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!SECRETS_FIELDS.includes(key)) fail(`secrets.${key}`, `unknown field (known: ${SECRETS_FIELDS.join(', ')})`);
  }
  if (typeof o.enabled !== 'boolean') fail('secrets.enabled', o.enabled === undefined ? 'is required' : 'must be true or false');
  const prefixes = o.namePrefixes ?? [];
  if (!Array.isArray(prefixes)) fail('secrets.namePrefixes', 'must be a list of secret name prefixes such as prod/');
  const namePrefixes = (prefixes as unknown[]).map((p, i) => {
    if (typeof p !== 'string' || !SECRET_PREFIX.test(p)) {
      return fail(`secrets.namePrefixes[${i}]`, `'${String(p)}' is not a secret name prefix (1-512 of ASCII letters, digits and /_+=.@-)`);
    }
    if ((prefixes as unknown[]).indexOf(p) !== i) return fail(`secrets.namePrefixes[${i}]`, `'${p}' is listed twice`);
    return p as string;
  });
  // Every secret would otherwise be in scope, and the IAM policy would have to cover all of them.
  if (o.enabled === true && namePrefixes.length === 0) {
    fail('secrets.namePrefixes', 'needs at least one prefix (such as prod/) when secrets.enabled is true');
  }
  return { enabled: o.enabled as boolean, namePrefixes };
}

/**
 * The function role's name. Roles in other target accounts trust exactly this role, so it is fixed (a
 * generated name would change with the stack); at most 64 characters (IAM).
 */
export function sourceRoleName(c: Pick<ReplicatorConfig, 'name' | 'sourceRegion'>): string {
  return `ssm-replicator-${c.name}-${c.sourceRegion}`;
}

/** The target role's ARN in `account` (the partition of the source region's stack). */
export function targetRoleArn(c: ReplicatorConfig, account: string, partition: string): string {
  return `arn:${partition}:iam::${account}:role/${c.targetRoleName}`;
}

/** The function's environment (the variables documented in the README). */
export function functionEnvironment(c: ReplicatorConfig): Record<string, string> {
  return {
    SOURCE_REGION: c.sourceRegion,
    TARGETS: c.targets.map(targetName).join(','),
    TARGET_ROLE_NAME: c.targetRoleName,
    SELECTION_MODE: c.selectionMode,
    SELECTION_TAG: c.selectionTag,
    PATH_PREFIXES: c.pathPrefixes.join(','),
    KMS_KEY_MAP: Object.entries(c.kmsKeys).map(([r, k]) => `${r}=${k}`).join(','),
    DELETE_REPLICAS: String(c.deleteReplicas),
    ADOPT_UNMANAGED: String(c.adoptUnmanaged),
    REPLICATE_LABELS: String(c.replicateLabels),
    RECREATE_REPLICAS: String(c.recreateReplicas),
    PRUNE_DESELECTED: String(c.pruneDeselected),
    SECRETS: String(c.secrets.enabled),
    SECRET_PREFIXES: c.secrets.namePrefixes.join(','),
    FULL_SYNC_RESERVE_SECONDS: '90',
    RUST_LOG: 'info',
  };
}
