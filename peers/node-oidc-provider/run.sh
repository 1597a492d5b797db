#!/usr/bin/env bash
# Runs `oidc-harness conform`, then `oidc-harness certify` for every integration pack but entra-eam, against
# node-oidc-provider (pinned in package-lock.json) on 127.0.0.1 and stops it afterwards. Called by .ci/run; runnable by hand from anywhere.
#   peers/node-oidc-provider/run.sh [extra conform arguments]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/../lib.sh"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error >/dev/null

# Fresh client secrets and password for this run only.
secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
OH_PEER_PORT="$(free_port)"
export OH_PEER_PORT OH_WEB_SECRET="$(secret)" OH_WEB_POST_SECRET="$(secret)" OH_SERVICE_SECRET="$(secret)" OH_USER_PASSWORD="$(secret)"
issuer="http://127.0.0.1:$OH_PEER_PORT"
start_server node-oidc-provider "$issuer/.well-known/openid-configuration" node provider.mjs

cd "$root"
cargo run --locked -q -p oidc-harness -- conform \
  --target "$issuer" \
  --target-config targets/node-oidc-provider.toml \
  --profile profiles/node-oidc-provider.toml \
  --expected peers/node-oidc-provider/expected.toml \
  --report-dir "${OH_PEER_REPORT_DIR:-target/peers/node-oidc-provider}" \
  "$@"

# Every integration pack against the same server (docs/INTEGRATIONS.md): node-oidc-provider is
# certified for each relying party, with the fixture's clients standing in for their
# registrations (targets/node-oidc-provider.toml, [integrations.*]).
# Not entra-eam: Microsoft Entra's hint comes from another issuer, which the library cannot be
# told to trust without code of its own (docs/INTEGRATIONS.md, entra-eam).
for pack in salesforce forgerock connectwise-home generic; do
  cargo run --locked -q -p oidc-harness -- certify --integration "$pack" \
    --target "$issuer" \
    --target-config targets/node-oidc-provider.toml \
    --profile profiles/node-oidc-provider.toml \
    --report-dir "${OH_PEER_REPORT_DIR:-target/peers/node-oidc-provider}-certify-$pack"
done
