#!/usr/bin/env bash
# Runs panva's openid-client (pinned in package-lock.json) against the reference server started
# with `oidc-harness serve` on 127.0.0.1, and stops the server afterwards. Called by .ci/run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/../lib.sh"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error >/dev/null

cd "$root"
cargo build --locked -q -p oidc-harness
port="$(free_port)"
issuer="http://127.0.0.1:$port/api/oidc"
start_server "oidc-harness serve" "$issuer/.well-known/openid-configuration" ./target/debug/oidc-harness serve --bind 127.0.0.1 --port "$port"

# The built-in configuration's client secrets and user password (oidc-harness serve --print-default-config).
OH_ISSUER="$issuer" OH_WEB_SECRET=web-app-secret OH_WEB_POST_SECRET=web-app-post-secret \
  OH_SERVICE_SECRET=service-client-secret OH_USER_PASSWORD=bob-password node "$here/rp.mjs"
