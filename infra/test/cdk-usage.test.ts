// Finding 4 (issue 11): the CDK app as CDK users expect it. `npx cdk synth|diff|deploy|destroy -c env=NAME`
// works from the repository root with the pinned CDK (a root package.json whose npm workspace is infra/,
// one lockfile), and from infra/ too; the Rust function is built from the workspace manifest, which the
// function crate inherits from (so Docker bundling, which mounts the manifest's directory, can build it).
import * as fs from 'fs';
import * as path from 'path';
import { missingBuildTools } from '../lib/build-tools';
import { MANIFEST } from '../lib/replicator-function';

const ROOT = path.join(__dirname, '..', '..');
const json = (...p: string[]) => JSON.parse(fs.readFileSync(path.join(ROOT, ...p), 'utf8'));

describe('plain CDK usage', () => {
  test('the root package.json makes infra/ an npm workspace; the root lockfile pins the CDK CLI infra/ asks for', () => {
    const root = json('package.json');
    expect(root.workspaces).toEqual(['infra']);
    const lock = json('package-lock.json');
    const cli = json('infra', 'package.json').devDependencies['aws-cdk'];
    expect(lock.packages['node_modules/aws-cdk'].version).toBe(cli);
    expect(lock.packages['node_modules/aws-cdk-lib'].version).toBe(json('infra', 'package.json').dependencies['aws-cdk-lib']);
    expect(fs.existsSync(path.join(ROOT, 'infra', 'package-lock.json'))).toBe(false);
  });

  test('cdk.json at the root and in infra/ run the same app with the same context into the same assembly', () => {
    const root = json('cdk.json');
    const infra = json('infra', 'cdk.json');
    expect(root.app).toBe('node_modules/.bin/ts-node --project infra/tsconfig.json --prefer-ts-exts infra/bin/app.ts');
    expect(infra.app).toBe('../node_modules/.bin/ts-node --prefer-ts-exts bin/app.ts');
    expect(path.resolve(ROOT, root.output)).toBe(path.resolve(ROOT, 'infra', infra.output));
    expect(infra.context).toEqual(root.context);
  });

  test('the function is built from the workspace manifest at the root', () => {
    expect(MANIFEST).toBe(path.join(ROOT, 'Cargo.toml'));
    expect(fs.readFileSync(MANIFEST, 'utf8')).toMatch(/^\[workspace\]\nresolver = "2"\nmembers = \["function"\]/m);
  });

  // Issue 14 tidy-up: the Lambda does not compile the CLI's crates. `make lint` also checks the resolved graph
  // (`cargo tree --no-default-features` holds neither clap nor indicatif).
  test('the Lambda is built without the `cli` feature, which alone brings clap and indicatif', () => {
    const source = fs.readFileSync(path.join(ROOT, 'infra', 'lib', 'replicator-function.ts'), 'utf8');
    expect(source).toMatch(/cargoLambdaFlags: \['--locked', '--no-default-features'\]/);
    const manifest = fs.readFileSync(path.join(ROOT, 'function', 'Cargo.toml'), 'utf8');
    expect(manifest).toMatch(/^cli = \["dep:clap", "dep:indicatif"\]$/m);
    expect(manifest).toMatch(/^clap = \{ version = "[^"]+", optional = true,/m);
    expect(manifest).toMatch(/^indicatif = \{ version = "[^"]+", optional = true \}$/m);
    expect(manifest).toMatch(/name = "ssm-replicator"\npath = "src\/bin\/cli.rs"\nrequired-features = \["cli"\]/);
    expect(fs.readFileSync(path.join(ROOT, 'Makefile'), 'utf8')).toContain('lambda build --release --arm64 --no-default-features');
  });

  test('missing build tools are each named with how to get them', () => {
    expect(missingBuildTools(() => false, {})).toEqual([
      expect.stringMatching(/^cargo \(/),
      expect.stringMatching(/^cargo-lambda \(`make setup`/),
      expect.stringMatching(/^zig \(`make setup`/),
    ]);
    expect(missingBuildTools(() => true, {})).toEqual([]);
    // zig through the ziglang Python package is enough
    expect(missingBuildTools((cmd) => cmd !== 'zig', {})).toEqual([]);
  });
});
