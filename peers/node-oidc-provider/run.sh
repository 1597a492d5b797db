#!/usr/bin/env bash
# Runs `oidc-harness conform` against node-oidc-provider (pinned in package-lock.json) on
# 127.0.0.1 and stops it afterwards. Called by .ci/run; runnable by hand from anywhere.
#   peers/node-oidc-provider/run.sh [extra conform arguments]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error >/dev/null

# A free port on 127.0.0.1, and fresh client secrets for this run only.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
export OH_PEER_PORT="$port" OH_WEB_SECRET="$(secret)" OH_WEB_POST_SECRET="$(secret)" OH_SERVICE_SECRET="$(secret)"
export OH_USER_PASSWORD="$(secret)"

log="$(mktemp)"
node provider.mjs >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

issuer="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if curl -fsS "$issuer/.well-known/openid-configuration" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "node-oidc-provider did not start:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.1
done

cd "$root"
cargo run --locked -q -p harness -- conform \
  --target "$issuer" \
  --target-config targets/node-oidc-provider.toml \
  --profile profiles/node-oidc-provider.toml \
  --expected peers/node-oidc-provider/expected.toml \
  --report-dir "${OH_PEER_REPORT_DIR:-target/peers/node-oidc-provider}" \
  "$@"
