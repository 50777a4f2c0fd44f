#!/usr/bin/env bash
# deploy | diff | destroy the target stacks of an environment: one per other account in its targets, each
# holding the role the function assumes there (infra/lib/target-stack.ts).
#   scripts/targets.sh deploy|diff|destroy ENV [ENVIRONMENTS_DIR]
# Credentials per account: TARGET_PROFILES="111111111111=dr-admin ..." (absent: the current credentials, which
# must be able to deploy into that account, e.g. a role there or `cdk bootstrap --trust`). ENV=local deploys
# into the emulator on localhost:5000 with each account's credentials from the emulator's AssumeRole.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
action=${1:?deploy, diff or destroy}
env=${2:?environment}
dir=${3:-$here/infra/environments}
# (Not CDK and CDK_ARGS: the CDK CLI reads CDK_* environment variables as options.)
cdk=${TARGETS_CDK:-$here/node_modules/.bin/cdk}
read -r -a extra <<<"${TARGETS_CDK_ARGS:-}"
case $action in deploy | diff | destroy) ;; *) echo "targets.sh: unknown action '$action'" >&2; exit 2 ;; esac

accounts=$(node "$here/scripts/target-accounts.js" "$env" "$dir")
if [ -z "$accounts" ]; then
  echo "targets.sh: environments/$env.json has no target in another account: no target stack to $action"
  exit 0
fi
while read -r account region; do
  stack="SsmReplicatorTarget-$env-$account"
  args=(-c "env=$env" "${extra[@]}")
  profile=""
  for p in ${TARGET_PROFILES:-}; do [ "${p%%=*}" = "$account" ] && profile=${p#*=}; done
  [ -n "$profile" ] && args+=(--profile "$profile")
  echo "== $action $stack (account $account, $region)${profile:+ with profile $profile}"
  (
    if [ "$env" = local ]; then
      export AWS_ENDPOINT_URL=http://localhost:5000 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
      eval "$("$here/.venv/bin/python" "$here/scripts/emulator_credentials.py" "$account")"
      if [ "$action" = deploy ]; then "$cdk" bootstrap "${args[@]}" "aws://$account/$region" >/dev/null; fi
    fi
    # --exclusively: only this stack (it depends on none), and only it is bundled — it has no asset to build.
    case $action in
      deploy) "$cdk" deploy "${args[@]}" --exclusively --require-approval never "$stack" ;;
      diff) "$cdk" diff "${args[@]}" --exclusively "$stack" ;;
      destroy) "$cdk" destroy "${args[@]}" --exclusively --force "$stack" ;;
    esac
  )
done <<<"$accounts"
