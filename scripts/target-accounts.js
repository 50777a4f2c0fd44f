#!/usr/bin/env node
// The other accounts an environment replicates into, one line each: `ACCOUNT REGION`, the region being
// where that account's target stack lives (the environment's source region, in that account). Used by `make deploy-targets`,
// `make destroy-targets` and the demo.
//   node scripts/target-accounts.js ENV [ENVIRONMENTS_DIR]
const fs = require('fs');
const path = require('path');

const [env, dir = path.join(__dirname, '..', 'infra', 'environments')] = process.argv.slice(2);
if (!env) {
  console.error('usage: target-accounts.js ENV [ENVIRONMENTS_DIR]');
  process.exit(2);
}
const file = path.join(dir, `${env}.json`);
const config = JSON.parse(fs.readFileSync(file, 'utf8'));
const seen = new Map();
for (const target of config.targets ?? []) {
  const [account] = String(target).includes('/') ? String(target).split('/') : [undefined];
  if (account && account !== config.account && !seen.has(account)) seen.set(account, config.sourceRegion);
}
for (const [account, region] of seen) console.log(`${account} ${region}`);
