#!/usr/bin/env bash
# Runs panva's openid-client (pinned in package-lock.json) against the reference server started
# with `oidc-harness serve` on 127.0.0.1, and stops the server afterwards. Called by .ci/run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error >/dev/null

cd "$root"
cargo build --locked -q -p harness
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
./target/debug/oidc-harness serve --bind 127.0.0.1 --port "$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

issuer="http://127.0.0.1:$port/api/oidc"
for _ in $(seq 1 100); do
  if curl -fsS "$issuer/.well-known/openid-configuration" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "oidc-harness serve did not start:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.1
done

# The built-in configuration's client secrets and user password (oidc-harness serve --print-default-config).
OH_ISSUER="$issuer" OH_WEB_SECRET=web-app-secret OH_WEB_POST_SECRET=web-app-post-secret \
  OH_SERVICE_SECRET=service-client-secret OH_USER_PASSWORD=bob-password node "$here/rp.mjs"
