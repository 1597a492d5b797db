#!/usr/bin/env bash
# Runs `oidc-harness conform`, then `oidc-harness certify` for every integration pack but entra-eam, against
# django-oidc-provider 0.9.0 (pinned with hashes in requirements.txt) on 127.0.0.1 and stops it
# afterwards. Called by .ci/run; runnable by hand
# from anywhere.
#   peers/django-oidc-provider/run.sh [extra conform arguments]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/../lib.sh"

# A virtualenv inside the repository's target/, reused while requirements.txt and the Python
# interpreter are the same; every package is checked against its hash.
venv="$root/target/peers/django-venv"
python_venv "$venv" "$here/requirements.txt"
python="$venv/bin/python"

# Fresh client secrets, password, Django secret key and SQLite database for this run only.
secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
server_scratch="$(mktemp -d)"
trap 'rm -rf "$server_scratch"' EXIT
OH_PEER_PORT="$(free_port)"
export OH_PEER_PORT OH_WEB_SECRET="$(secret)" OH_WEB_POST_SECRET="$(secret)" OH_SERVICE_SECRET="$(secret)" OH_USER_PASSWORD="$(secret)"
export OH_DJANGO_SECRET_KEY="$(secret)$(secret)" OH_DJANGO_DATA_DIR="$server_scratch" OH_DJANGO_SITE_URL="http://127.0.0.1:$OH_PEER_PORT"
export PYTHONDONTWRITEBYTECODE=1
issuer="$OH_DJANGO_SITE_URL/openid"

cd "$here"
"$python" manage.py migrate --verbosity 0
"$python" manage.py creatersakey >/dev/null
"$python" manage.py setuppeer >/dev/null
start_server django-oidc-provider "$issuer/.well-known/openid-configuration" \
  "$python" manage.py runserver "127.0.0.1:$OH_PEER_PORT" --noreload

cd "$root"
cargo run --locked -q -p oidc-harness -- conform \
  --target "$issuer" \
  --target-config targets/django-oidc-provider.toml \
  --profile profiles/django-oidc-provider.toml \
  --expected peers/django-oidc-provider/expected.toml \
  --report-dir "${OH_PEER_REPORT_DIR:-target/peers/django-oidc-provider}" \
  "$@"

# Every integration pack against the same server (docs/INTEGRATIONS.md), the fixture's clients
# standing in for the relying parties' registrations (targets/django-oidc-provider.toml). The
# library has no resource indicators, so the generic pack's audience rule is not run: incomplete
# is allowed, a failure is not.
# Not entra-eam: Microsoft Entra's hint comes from another issuer, which the library cannot be
# told to trust without code of its own (docs/INTEGRATIONS.md, entra-eam).
for pack in salesforce forgerock connectwise-home generic; do
  cargo run --locked -q -p oidc-harness -- certify --integration "$pack" \
    --target "$issuer" \
    --target-config targets/django-oidc-provider.toml \
    --profile profiles/django-oidc-provider.toml \
    --allow-incomplete \
    --report-dir "${OH_PEER_REPORT_DIR:-target/peers/django-oidc-provider}-certify-$pack"
done
