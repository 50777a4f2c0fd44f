#!/usr/bin/env node
// The cloud assembly between CI jobs: `pack` and `unpack` it as a tar file, `check` that every Lambda
// asset's `bootstrap` is executable. Used by .github/workflows/ci.yml and by `make test` (test-assembly).
//
// Why tar: upload-artifact does not keep file permissions ("File permissions are not maintained during
// artifact upload. All directories will have 755 and all files will have 644"; the README's advice is to
// tar the files first: https://github.com/actions/upload-artifact#permission-loss). A `bootstrap` without
// its execute bit makes every invocation of a provided.* runtime function fail.
//
//   node scripts/assembly.js pack DIR FILE.tar     tar DIR (modes kept) into FILE.tar
//   node scripts/assembly.js unpack FILE.tar DIR   recreate DIR from FILE.tar (modes kept)
//   node scripts/assembly.js check DIR             every provided.* function's asset has an executable bootstrap
//   node scripts/assembly.js stacks DIR PREFIX     the assembly's stacks whose names start with PREFIX
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

function pack(dir, file) {
  const abs = path.resolve(dir);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  execFileSync('tar', ['-cf', path.resolve(file), '-C', path.dirname(abs), path.basename(abs)], { stdio: 'inherit' });
  console.log(`assembly: packed ${dir} into ${file}`);
}

function unpack(file, dir) {
  const abs = path.resolve(dir);
  fs.rmSync(abs, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(path.dirname(abs), '.unpack-'));
  // -p: keep the modes recorded in the archive whatever the umask.
  execFileSync('tar', ['-xpf', path.resolve(file), '-C', tmp], { stdio: 'inherit' });
  const [top] = fs.readdirSync(tmp);
  if (top === undefined) throw new Error(`${file} is empty`);
  fs.renameSync(path.join(tmp, top), abs);
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`assembly: unpacked ${file} into ${dir}`);
}

/** Problems with the assembly in `dir`; empty when every provided.* function can start. */
function problems(dir) {
  const out = [];
  // The stacks the assembly's manifest lists (a reused cdk.out may hold stale templates of other stacks).
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) return [`${dir}: no manifest.json (not a cloud assembly)`];
  const artifacts = Object.values(JSON.parse(fs.readFileSync(manifestFile, 'utf8')).artifacts ?? {});
  const templates = artifacts
    .filter((a) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile)
    .map((a) => a.properties.templateFile);
  if (templates.length === 0) return [`${dir}: its manifest lists no stack`];
  let checked = 0;
  for (const t of templates) {
    const resources = JSON.parse(fs.readFileSync(path.join(dir, t), 'utf8')).Resources ?? {};
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::Lambda::Function' || !String(r.Properties?.Runtime ?? '').startsWith('provided')) continue;
      const asset = r.Metadata?.['aws:asset:path'];
      if (typeof asset !== 'string') {
        out.push(`${t}: ${id}: no aws:asset:path metadata, cannot find its code`);
        continue;
      }
      const bootstrap = path.join(path.resolve(dir, asset), 'bootstrap');
      checked += 1;
      if (!fs.existsSync(bootstrap)) {
        out.push(`${t}: ${id}: ${path.relative(process.cwd(), bootstrap)} is missing`);
      } else if ((fs.statSync(bootstrap).mode & 0o111) !== 0o111) {
        const mode = (fs.statSync(bootstrap).mode & 0o777).toString(8);
        out.push(`${t}: ${id}: ${path.relative(process.cwd(), bootstrap)} is not executable (mode ${mode}); was the assembly moved without tar?`);
      }
    }
  }
  if (out.length === 0 && checked === 0) out.push(`${dir}: no provided.* Lambda function found`);
  return out;
}

/** The stack artifacts the assembly's manifest lists, by name, that start with `prefix`. */
function stacks(dir, prefix) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  return Object.entries(manifest.artifacts ?? {})
    .filter(([name, a]) => a.type === 'aws:cloudformation:stack' && name.startsWith(prefix))
    .map(([name]) => name);
}

function check(dir) {
  const found = problems(dir);
  for (const p of found) console.error(`assembly: ${p}`);
  if (found.length > 0) process.exit(1);
  console.log(`assembly: every Lambda bootstrap in ${dir} is executable`);
}

if (require.main === module) {
  const [verb, a, b] = process.argv.slice(2);
  try {
    if (verb === 'pack' && a && b) pack(a, b);
    else if (verb === 'unpack' && a && b) unpack(a, b);
    else if (verb === 'check' && a) check(a);
    else if (verb === 'stacks' && a && b) stacks(a, b).forEach((s) => console.log(s));
    else {
      console.error('usage: assembly.js pack DIR FILE.tar | unpack FILE.tar DIR | check DIR | stacks DIR PREFIX');
      process.exit(2);
    }
  } catch (e) {
    console.error(`assembly: ${e.message}`);
    process.exit(1);
  }
}

module.exports = { pack, unpack, problems, stacks };
