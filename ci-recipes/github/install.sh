#!/usr/bin/env bash
# The action's install step: oidc-harness from the action's own checkout (the ref the workflow
# named), into the runner's temporary directory, on the PATH of the later steps.
set -euo pipefail
root="${RUNNER_TEMP:?}/oidc-harness"
# The action's checkout has no .git: --version names the ref the workflow used instead.
if [ -n "${GITHUB_ACTION_REF:-}" ] && [ -z "${OIDC_HARNESS_COMMIT:-}" ]; then
  export OIDC_HARNESS_COMMIT="$GITHUB_ACTION_REF"
fi
# INSTALL_FLAGS: more `cargo install` flags, split on spaces (the action's install-flags input).
# shellcheck disable=SC2086
cargo install --locked --quiet --path "${GITHUB_ACTION_PATH:?}/harness" --root "$root" ${INSTALL_FLAGS:-}
echo "$root/bin" >>"${GITHUB_PATH:?}"
"$root/bin/oidc-harness" --version
