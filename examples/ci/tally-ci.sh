#!/usr/bin/env bash
# Tally in CI, as one script that GitHub Actions runs and that you can run on your machine.
#
#   examples/ci/tally-ci.sh pr     validate, test, plan; the plan's markdown is the PR comment
#   examples/ci/tally-ci.sh main   validate, test, deploy, check (fails on failed/missed KPIs), snapshot
#   examples/ci/tally-ci.sh daily  refresh materialized tables, snapshot lifecycles, deliver syncs, check KPIs
#
# Environment:
#   TALLY_PROJECT        the project folder (default examples/shop)
#   TALLY_DATABASE_URL   the warehouse (postgres://…); default: the project's warehouse.url or its
#                        embedded database
#   TALLY                how to run tally (default: `tally` on PATH, else node bin/tally.mjs here)
#   TALLY_FAIL_ON        statuses that fail `check` (default failed,missed)
#   TALLY_OUT            where reports go (default ./tally-ci-out): plan.md, check.md, *.xml, *.sarif
# Inside GitHub Actions it also writes annotations (::error file=…,line=…) and the job summary.
set -euo pipefail

mode="${1:-}"
case "$mode" in pr | main | daily) ;; *)
  echo "usage: $0 pr|main|daily" >&2
  exit 2
  ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
project="${TALLY_PROJECT:-examples/shop}"
out="${TALLY_OUT:-tally-ci-out}"
fail_on="${TALLY_FAIL_ON:-failed,missed}"
mkdir -p "$out"
if [[ -n "${TALLY:-}" ]]; then
  read -r -a tally <<<"$TALLY"
elif command -v tally >/dev/null 2>&1; then
  tally=(tally)
else
  tally=(node "$here/../../bin/tally.mjs")
fi
in_actions="${GITHUB_ACTIONS:-}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"

step() { printf '\n== %s\n' "$*" >&2; }
t() { "${tally[@]}" "$@" --project "$project"; }

validate() {
  step "validate"
  t validate --format sarif >"$out/validate.sarif" || true # uploaded to code scanning if wanted
  if [[ -n "$in_actions" ]]; then t validate --format github; else t validate; fi
}

run_tests() {
  step "test (kind: Test fixtures, each in isolation)"
  t test --format junit >"$out/test.xml" || {
    t test >&2 || true
    return 1
  }
}

case "$mode" in
pr)
  validate
  run_tests
  step "plan (what a deploy would change, measured on the live data)"
  status=0
  t plan --format markdown >"$out/plan.md" || status=$?
  cat "$out/plan.md"
  cat "$out/plan.md" >>"$summary"
  exit "$status"
  ;;
main)
  validate
  run_tests
  step "deploy"
  t deploy
  step "check KPIs (fails on: $fail_on)"
  status=0
  t check --format junit --fail-on "$fail_on" >"$out/check.xml" || status=$?
  t check --format markdown --fail-on "$fail_on" --no-record >"$out/check.md" || true
  [[ -n "$in_actions" ]] && { t check --format github --fail-on "$fail_on" --no-record || true; }
  cat "$out/check.md"
  cat "$out/check.md" >>"$summary"
  step "snapshot lifecycles"
  t snapshot
  exit "$status"
  ;;
daily)
  step "refresh materialized tables"
  t refresh
  step "snapshot lifecycles"
  t snapshot
  step "deliver syncs (each kind: Sync's changes since its last delivery; its secrets come from the environment)"
  sync_status=0
  t sync || sync_status=$?
  step "check KPIs (fails on: $fail_on)"
  status=0
  t check --format markdown --fail-on "$fail_on" >"$out/check.md" || status=$?
  cat "$out/check.md"
  cat "$out/check.md" >>"$summary"
  if [[ "$status" -ne 0 ]]; then exit "$status"; fi
  exit "$sync_status"
  ;;
esac
