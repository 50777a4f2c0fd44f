// Finding 2 (issue 11): CI promotion must ship a function that can start. upload-artifact does not keep file
// permissions (files come back 0644: https://github.com/actions/upload-artifact#permission-loss), so the
// workflow moves the cloud assembly as a tar file (scripts/assembly.js) and checks every Lambda asset's
// `bootstrap` before deploying. This test packs and unpacks an assembly the way CI does; `make test` also
// runs the same round trip on the real assembly (make test-assembly).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'assembly.js');
const run = (...args: string[]) => spawnSync('node', [SCRIPT, ...args], { encoding: 'utf8' });

/** A minimal assembly: one provided.al2023 function whose asset directory holds `bootstrap`. */
function assembly(mode: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asm-'));
  const out = path.join(dir, 'cdk.out');
  fs.mkdirSync(path.join(out, 'asset.abc'), { recursive: true });
  fs.writeFileSync(path.join(out, 'asset.abc', 'bootstrap'), '#!/bin/sh\n');
  fs.chmodSync(path.join(out, 'asset.abc', 'bootstrap'), mode);
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({
    version: '48.0.0',
    artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } },
  }));
  fs.writeFileSync(path.join(out, 'S.template.json'), JSON.stringify({
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'provided.al2023' }, Metadata: { 'aws:asset:path': 'asset.abc' } },
    },
  }));
  return out;
}

describe('cloud assembly between CI jobs', () => {
  test('packed and unpacked as CI does, bootstrap keeps its execute bit and the check passes', () => {
    const out = assembly(0o755);
    const tar = path.join(path.dirname(out), 'cloud-assembly.tar');
    const dest = path.join(path.dirname(out), 'downloaded', 'cdk.out');
    fs.mkdirSync(path.dirname(dest));
    expect(run('pack', out, tar).status).toBe(0);
    expect(run('unpack', tar, dest).status).toBe(0);
    expect(fs.statSync(path.join(dest, 'asset.abc', 'bootstrap')).mode & 0o777).toBe(0o755);
    const r = run('check', dest);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('a bootstrap that lost its execute bit (upload-artifact without tar: 0644) fails the check, naming it', () => {
    const out = assembly(0o644);
    const r = run('check', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/asset\.abc\/bootstrap is not executable \(mode 644\)/);
  });

  test('an assembly without any provided.* function fails the check (nothing was verified)', () => {
    const out = assembly(0o755);
    fs.writeFileSync(path.join(out, 'S.template.json'), JSON.stringify({ Resources: {} }));
    expect(run('check', out).status).toBe(1);
  });

  test('the workflow uploads the tar, and each deploy job unpacks and checks it before deploying', () => {
    const ci = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8');
    expect(ci).toMatch(/node scripts\/assembly\.js pack infra\/cdk\.out cloud-assembly\.tar/);
    expect(ci).toMatch(/path: cloud-assembly\.tar/);
    expect(ci).not.toMatch(/path: infra\/cdk\.out/);
    for (const job of ['deploy-dev', 'deploy-prod']) {
      const body = ci.split(new RegExp(`\\n  ${job}:\\n`))[1].split(/\n  [a-z-]+:\n/)[0];
      const unpack = body.indexOf('node scripts/assembly.js unpack cloud-assembly.tar infra/cdk.out');
      const deploy = body.indexOf('make deploy-assembly');
      expect(unpack).toBeGreaterThan(0);
      expect(deploy).toBeGreaterThan(unpack);
    }
    // deploy-assembly checks the bootstrap bits itself before `cdk deploy`.
    const makefile = fs.readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
    expect(makefile).toMatch(/deploy-assembly:[^\n]*\n\tnode scripts\/assembly\.js check infra\/cdk\.out\n\t\$\(CDK\) deploy --app infra\/cdk\.out/);
  });
});
