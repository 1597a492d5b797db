#!/usr/bin/env bash
# The action's conform step: the inputs (as environment variables) to `oidc-harness conform`;
# summary.md to the job's step summary; the exit code and verdict as step outputs. It exits 0 so
# that the report is uploaded whatever the verdict; the action's last step gates on the code.
set -uo pipefail
# Options that would end the run without a verdict, or change what stdout is, are refused: the
# gate must never pass on a run that judged nothing.
for refused in --list --help -h --version -V --format; do
  case " ${ARGS:-} " in
    *" $refused "* | *" $refused="*)
      echo "oidc-harness action: the args input must not contain $refused" >&2
      printf 'exit-code=2\nstatus=ERROR\n' >>"${GITHUB_OUTPUT:?}"
      exit 0
      ;;
  esac
done
args=(conform --report-dir "${REPORT_DIR:-oidc-harness-report}")
[ -n "${TARGET:-}" ] && args+=(--target "$TARGET")
[ -n "${TARGET_CONFIG:-}" ] && args+=(--target-config "$TARGET_CONFIG")
[ -n "${PROFILE:-}" ] && args+=(--profile "$PROFILE")
[ -n "${EXPECTED:-}" ] && args+=(--expected "$EXPECTED")
[ -n "${SUITE:-}" ] && args+=(--suite "${SUITE// /}")
[ "${ALLOW_INCOMPLETE:-false}" = true ] && args+=(--allow-incomplete)
# ARGS: more arguments, split on spaces (the action's args input), never glob-expanded
# (`--check 'id-token.*'` is a pattern for oidc-harness, not for the shell).
set -f
# shellcheck disable=SC2206
[ -n "${ARGS:-}" ] && args+=($ARGS)
set +f
# stdout is the verdict line ("PASSED: 162 checks, ..."); progress and diagnostics are on stderr.
verdict="$(oidc-harness "${args[@]}")"
code=$?
echo "$verdict"
summary="${REPORT_DIR:-oidc-harness-report}/summary.md"
if [ -f "$summary" ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$summary" >>"$GITHUB_STEP_SUMMARY"
fi
case "${verdict%%:*}" in
  PASSED | FAILED | INCOMPLETE) status="${verdict%%:*}" ;;
  *) status=ERROR ;; # refused before any check (exit 2): stderr says why
esac
# No verdict is never a pass.
if [ "$status" = ERROR ] && [ "$code" = 0 ]; then code=2; fi
{
  echo "exit-code=$code"
  echo "status=$status"
} >>"${GITHUB_OUTPUT:?}"
exit 0
