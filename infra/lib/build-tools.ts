// The tools a real synth needs to build the arm64 Rust function locally: cargo-lambda, which cross-compiles
// with zig. Without them cargo-lambda-cdk would silently switch to Docker bundling (or fail deep inside a
// build); the app stops first and says what is missing. `-c bundling=docker` opts into the Docker build
// (the cargo-lambda image, building the workspace from its root manifest) instead.
import { spawnSync } from 'child_process';

export type Run = (cmd: string, args: string[]) => boolean;

const run: Run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
};

/** What is missing for a local build, each with how to get it; empty when everything is there. */
export function missingBuildTools(ok: Run = run, env: NodeJS.ProcessEnv = process.env): string[] {
  const missing: string[] = [];
  if (!ok('cargo', ['--version'])) missing.push('cargo (the Rust toolchain: https://rustup.rs)');
  if (!ok('cargo', ['lambda', '--version'])) missing.push('cargo-lambda (`make setup` installs it into .venv/; or `pip install cargo-lambda`)');
  // cargo-lambda finds zig on PATH, through CARGO_ZIGBUILD_ZIG_PATH, or as the `ziglang` Python package.
  const zig = (env.CARGO_ZIGBUILD_ZIG_PATH !== undefined && ok(env.CARGO_ZIGBUILD_ZIG_PATH, ['version']))
    || ok('zig', ['version']) || ok('python3', ['-m', 'ziglang', 'version']);
  if (!zig) missing.push('zig (`make setup` installs the ziglang package into .venv/; or put zig on PATH)');
  return missing;
}
