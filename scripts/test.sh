#!/usr/bin/env bash
# `npm test`: type-check and lint everything, then each workspace's tests (unit and
# workerd tests), then the end-to-end tests against the real registry and clients.
# Suites run one after another: the machine this must pass on has 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0

step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }

step "typecheck (tsc -b)"
npx tsc -b || status=1
step "lint (eslint)"
npx eslint . || status=1
step "layering (scripts/layering.ts)"
npx tsx scripts/layering.ts || status=1

# Both Workers bundle and their wrangler.toml validates as wrangler deploy would
# read it (nothing is uploaded; the placeholder ids don't matter to a dry run).
step "wrangler deploy --dry-run (token server, proxy)"
dryrun=$(mktemp -d)
npx wrangler deploy --dry-run --outdir "$dryrun/token" >/dev/null || status=1
(cd proxy-worker && npx wrangler deploy --dry-run --outdir "$dryrun/proxy" >/dev/null) || status=1
rm -rf "$dryrun"

suites=(scripts protocol core worker cli testkit proxy-worker controller client credential-helper action bench e2e)
for suite in "${suites[@]}"; do
  [ -f "$suite/vitest.config.ts" ] || continue
  step "tests: $suite"
  (cd "$suite" && npx vitest run --reporter=default --reporter=json --outputFile.json="$results/$suite.json") || status=1
done

npx tsx scripts/test-summary.ts "$results" || status=1
exit $status
