// Every AWS operation the function's code calls is allowed by the role the stack gives it. The emulator
// enforces no IAM policy, so a call added to the Rust adapters without its permission passes every
// integration test and fails with AccessDenied on AWS (as kms:DescribeKey in the source region once did).
// Rule: an IAM principal may call an action only when an identity-based policy allows it (and, for KMS, the
// key policy lets IAM policies decide, as the AWS managed keys and the default key policy do):
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
import * as fs from 'fs';
import * as path from 'path';
import { SECRET_COPY_ACTIONS } from '../lib/permissions';
import { actions, statements, synth } from './helpers';

const AWS_DIR = path.join(__dirname, '..', '..', 'function', 'src', 'aws');

/** The IAM service prefix of the SDK client each adapter file uses. */
const SERVICE_OF_FILE: Record<string, string> = {
  'ssm.rs': 'ssm',
  'ssm_labels.rs': 'ssm',
  'kms.rs': 'kms',
  'continuation.rs': 'lambda',
  'tagging.rs': 'tag',
  'secrets.rs': 'secretsmanager',
};

/**
 * Secrets Manager calls the adapter makes only on copies in other accounts, through the target role there
 * (secrets.test.ts checks that role's grants); the function's own role never needs them.
 */
const SECRET_COPY_CALLS = new Set(SECRET_COPY_ACTIONS.concat('secretsmanager:DeleteSecret'));

/** Calls the role deliberately does not allow, and what the code does instead. */
const NOT_GRANTED: Record<string, string> = {
  // kms:ListAliases has no resource-level permissions (Resource must be "*"); the adapter maps its
  // AccessDenied to kms-key-unmapped: a key given by id then needs a KMS_KEY_MAP entry.
  'kms:ListAliases': 'reported as kms-key-unmapped',
};

/** snake_case SDK operation → IAM action name (`get_parameter_history` → `GetParameterHistory`). */
const toAction = (service: string, op: string) =>
  `${service}:${op.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}`;

/** Writes: only ever made in target regions (the engine never writes the source). */
const WRITES = [
  'ssm:PutParameter', 'ssm:AddTagsToResource', 'ssm:RemoveTagsFromResource', 'ssm:DeleteParameter',
  'ssm:LabelParameterVersion', 'ssm:UnlabelParameterVersion',
];

type Where = 'source' | 'targets' | 'every';

/**
 * The SDK operations each adapter calls (`.operation()` followed, across whitespace, by a builder call), and
 * where. The SSM store serves the source and the targets alike: its reads go everywhere, its writes to the
 * targets. The KMS resolver calls `self.source.…` in the source region and a target's client elsewhere.
 * Lambda hands off to the function itself, in the source region; the tagging API is asked in every region.
 */
function operationsCalled(): Map<string, Set<Where>> {
  const found = new Map<string, Set<Where>>();
  const add = (action: string, where: Where) => found.set(action, (found.get(action) ?? new Set()).add(where));
  for (const [file, service] of Object.entries(SERVICE_OF_FILE)) {
    const source = fs.readFileSync(path.join(AWS_DIR, file), 'utf8');
    const calls = /(\bsource\s*)?\.\s*([a-z][a-z_]+)\(\)\s*\.\s*(?:name|names|set_[a-z_]+|key_id|resource_type|with_decryption|max_results|parameter_filters|function_name|invocation_type|secret_id|send)\b/g;
    for (const m of source.matchAll(calls)) {
      const action = toAction(service, m[2]);
      if (service === 'ssm') add(action, WRITES.includes(action) ? 'targets' : 'every');
      else if (service === 'kms') add(action, m[1] ? 'source' : 'targets');
      // DescribeSecret: the source, and a same-name secret in this account's target regions.
      else if (action === 'secretsmanager:DescribeSecret') add(action, 'every');
      else if (service === 'secretsmanager' && SECRET_COPY_CALLS.has(action)) continue;
      // The tagging API: source tags, and replica tags in each target (other accounts: their target role).
      else if (service === 'tag') add(action, 'every');
      else add(action, 'source');
    }
  }
  return found;
}

/** The regions a statement's resources reach: those named in their ARNs, or all for "*". */
function regionsOf(resource: unknown, all: string[]): string[] {
  const text = typeof resource === 'string' ? resource : JSON.stringify(resource);
  if (text === '*') return all;
  return all.filter((r) => text.includes(`:${r}:`));
}

describe('the role allows every call the code makes, in every region the code makes it', () => {
  const called = operationsCalled();

  test('the adapters are found calling what they are known to call (the scan works)', () => {
    const expected: [string, Where][] = [
      ['ssm:GetParameter', 'every'], ['ssm:GetParameters', 'every'], ['ssm:GetParameterHistory', 'every'],
      ['ssm:DescribeParameters', 'every'], ['ssm:ListTagsForResource', 'every'], ['ssm:PutParameter', 'targets'],
      ['kms:DescribeKey', 'source'], ['kms:DescribeKey', 'targets'], ['kms:ListAliases', 'source'], ['lambda:Invoke', 'source'],
      ['tag:GetResources', 'every'],
      ['secretsmanager:ListSecrets', 'source'], ['secretsmanager:DescribeSecret', 'every'],
      ['secretsmanager:ReplicateSecretToRegions', 'source'], ['secretsmanager:GetSecretValue', 'source'],
      ['ssm:LabelParameterVersion', 'targets'], ['ssm:UnlabelParameterVersion', 'targets'],
    ];
    for (const [action, where] of expected) expect([action, called.get(action)?.has(where)]).toEqual([action, true]);
  });

  const variants: Array<[string, Record<string, boolean>]> = [
    ['deleteReplicas true', { deleteReplicas: true }],
    ['deleteReplicas false', { deleteReplicas: false }],
    // Recreation and pruning delete replicas: DeleteParameter must be granted even without deleteReplicas.
    ['deleteReplicas false, recreateReplicas true', { deleteReplicas: false, recreateReplicas: true }],
    ['deleteReplicas false, pruneDeselected true', { deleteReplicas: false, pruneDeselected: true }],
  ];
  for (const [label, overrides] of variants) {
    test(`every operation is allowed where it is made (${label}), except those listed with a reason`, () => {
      const secrets = { enabled: true, namePrefixes: ['prod/'] };
      const { template, config } = synth({ ...overrides, replicateLabels: true, secrets });
      const deletes = config.deleteReplicas || config.recreateReplicas || config.pruneDeselected;
      const every = [config.sourceRegion, ...config.targetRegions];
      const regionsFor: Record<Where, string[]> = { source: [config.sourceRegion], targets: config.targetRegions, every };
      const allows = statements(template).filter((s) => s.Effect === 'Allow');
      const missing: string[] = [];
      for (const [operation, wheres] of called) {
        // lambda:Invoke is the SDK operation; its IAM action is lambda:InvokeFunction.
        const action = operation === 'lambda:Invoke' ? 'lambda:InvokeFunction' : operation;
        if (NOT_GRANTED[action] || (!deletes && action === 'ssm:DeleteParameter')) continue;
        // A secret's value is read only to copy it into another account; native replication never reads it.
        const copies = Object.keys(config.targetAccounts).length > 0;
        if (!copies && action === 'secretsmanager:GetSecretValue') continue;
        for (const region of [...wheres].flatMap((w) => regionsFor[w])) {
          const ok = allows.some((s) => actions(s).includes(action)
            && [s.Resource].flat().some((r) => regionsOf(r, every).includes(region) || JSON.stringify(r).includes('Fn::GetAtt')));
          if (!ok) missing.push(`${action} in ${region}`);
        }
      }
      expect(missing).toEqual([]);
    });
  }
});
