#!/usr/bin/env bash
# Token issuance benchmark, everything on 127.0.0.1 in one run on this machine:
#   - client_credentials with RS256 JWT access tokens: the reference server vs node-oidc-provider
#     (peers/node-oidc-provider, pinned), each with wrk and with `oidc-harness load`;
#   - ES256 and EdDSA access tokens on the reference server (wrk);
#   - goose's rate against wrk's on the same target: RS256 (the server is the limit) and EdDSA
#     (the one-core load generator is the limit: the load tool's overhead);
#   - p99 at half of the reference server's peak (open model), and its memory after many tokens;
#   - the ceiling per algorithm: a bare hyper server (reference-server/examples/signing_ceiling.rs)
#     that signs with the same aws-lc-rs key type and answers a token response, nothing else:
#     the signature plus the HTTP exchange, which no server on this stack goes below;
#   - the raw signing rates of this CPU (openssl speed), the ceiling without HTTP.
# The server under test is pinned to CPU 0 and the load generator to CPU 1 (taskset), so
# "per core" figures compare like with like. Medians of RUNS runs of SECONDS each.
#
#   bench/tokens.sh [RUNS] [SECONDS]        (5 runs of 10 s: about 10 minutes)
# Results go to bench/results/tokens-<date>T<time>.md.
set -euo pipefail
runs="${1:-5}"
seconds="${2:-10}"
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/peers/lib.sh"
cd "$root"
command -v wrk >/dev/null || { echo "needs wrk (Debian: apt-get install wrk)" >&2; exit 2; }
command -v taskset >/dev/null || { echo "needs taskset (util-linux)" >&2; exit 2; }
cargo build --release --locked -q -p oidc-harness
cargo build --release --locked -q -p reference-server --example signing_ceiling
bin="$root/target/release/oidc-harness"
ceiling_bin="$root/target/release/examples/signing_ceiling"
(cd peers/node-oidc-provider && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
work="$(mktemp -d)"
out="$root/bench/results/tokens-$(date -u +%Y-%m-%dT%H%M).md"
mkdir -p "$root/bench/results"

source "$root/bench/lib.sh"

# wrk_rate URL BODY BASIC: median rate of $runs wrk runs on CPU 1 (16 connections, one thread),
# after a 5 s warm-up that is not counted (node's JIT, connection pools, page faults).
wrk_rate() {
  local rates=() line
  BODY="$2" BASIC="$3" taskset -c 1 wrk -t1 -c16 -d5s -s bench/cc.lua "$1" >/dev/null
  for _ in $(seq "$runs"); do
    line="$(BODY="$2" BASIC="$3" taskset -c 1 wrk -t1 -c16 -d"${seconds}s" -s bench/cc.lua "$1" | grep '^RESULT')"
    [ "$(echo "$line" | field not_ok)" = 0 ] || { echo "non-200 answers: $line" >&2; exit 1; }
    rates+=("$(echo "$line" | field rate)")
  done
  printf '%s\n' "${rates[@]}" | median
}

# goose_rate ISSUER TARGET_FILE PROFILE_FILE: median cc transactions/s of `oidc-harness load`.
goose_rate() {
  local rates=()
  for i in $(seq "$runs"); do
    taskset -c 1 "$bin" load --scenario client-credentials --target "$1" --target-config "$2" --profile "$3" \
      --users 16 --increase-rate 100 --run-time "${seconds}s" --report-dir "$work/goose-$i" >/dev/null 2>&1
    rates+=("$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['transactions']['client-credentials']; print(round(t['throughput_per_s'],1) if t['failed']==0 else 0)" "$work/goose-$i/load.json")")
  done
  printf '%s\n' "${rates[@]}" | median
}

basic() { printf '%s:%s' "$1" "$2" | base64 -w0; }

# --- the reference server, one per access-token algorithm ---
export OH_WEB_SECRET=web-app-secret OH_WEB_POST_SECRET=web-app-post-secret OH_SERVICE_SECRET=service-client-secret OH_USER_PASSWORD=bob-password
ours() { # ALG -> starts the server on CPU 0 with service-client signing ALG; sets issuer
  "$bin" serve --print-default-config | sed "/client_id = \"service-client\"/,/^\[\[/ s/access_token_signing_alg = \"RS256\"/access_token_signing_alg = \"$1\"/" >"$work/$1.toml"
  port="$(free_port)"
  issuer="http://127.0.0.1:$port/api/oidc"
  start_server "reference server ($1)" "$issuer/.well-known/openid-configuration" taskset -c 0 "$bin" serve --port "$port" --config "$work/$1.toml"
}
stop() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }

svc="$(basic service-client service-client-secret)"
declare -A rate
for alg in RS256 ES256 EdDSA; do
  ours "$alg"
  rate[ours_wrk_$alg]="$(wrk_rate "$issuer/token" "grant_type=client_credentials&scope=read" "$svc")"
  if [ "$alg" = RS256 ]; then
    rate[ours_goose_RS256]="$(goose_rate "$issuer" targets/reference-server.toml profiles/idaas.toml)"
    pid_rs256="$server_pid"
    # p99 at half of the peak, open model, 3 runs.
    half="$(python3 -c "print(round($(echo "${rate[ours_wrk_RS256]}" | first) / 2))")"
    printf 'description = "half of peak"\n[open]\nmax_users = 32\n[[open.step]]\nrate = %s.0\nduration = "%ss"\n' "$half" "$seconds" >"$work/half.toml"
    p99s=()
    for i in $(seq "$runs"); do
      taskset -c 1 "$bin" load --scenario client-credentials --target "$issuer" --target-config targets/reference-server.toml \
        --load-profile "$work/half.toml" --report-dir "$work/half-$i" >/dev/null 2>&1 \
        || echo "bench: the half-peak run $i failed (unstarted arrivals or errors); its load.json is read all the same" >&2
      p99s+=("$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['transactions']['client-credentials']['latency_us']['p99'])" "$work/half-$i/load.json")")
    done
    rate[half_p99_us]="$(printf '%s\n' "${p99s[@]}" | median)"
    rate[half_rate]="$half"
    rate[rss_rs256_kb]="$(awk '/VmRSS/ {print $2}' "/proc/$pid_rs256/status")"
  fi
  if [ "$alg" = EdDSA ]; then
    # A server faster than one core of load generator: here wrk and goose measure themselves.
    rate[ours_goose_EdDSA]="$(goose_rate "$issuer" targets/reference-server.toml profiles/idaas.toml)"
  fi
  if [ "$alg" = ES256 ]; then
    # Memory after a million tokens: wrk until ~1,000,000 requests, then the server's RSS.
    n=0
    while [ "$n" -lt "${MILLION:-1000000}" ]; do
      line="$(BODY="grant_type=client_credentials&scope=read" BASIC="$svc" taskset -c 1 wrk -t1 -c16 -d20s -s bench/cc.lua "$issuer/token" | grep '^RESULT')"
      n=$((n + $(echo "$line" | field requests)))
    done
    rate[million_tokens]="$n"
    rate[rss_after_million_kb]="$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")"
  fi
  stop
  trap - EXIT
done

# --- the ceiling: signature plus bare HTTP, one per algorithm ---
for alg in RS256 ES256 EdDSA; do
  port="$(free_port)"
  start_server "signing ceiling ($alg)" "http://127.0.0.1:$port/" taskset -c 0 "$ceiling_bin" "$port" "$alg"
  rate[ceiling_wrk_$alg]="$(wrk_rate "http://127.0.0.1:$port/token" "grant_type=client_credentials&scope=read" "$svc")"
  stop
  trap - EXIT
done

# --- node-oidc-provider: RS256 JWT access tokens (its service client's default resource) ---
secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
OH_PEER_PORT="$(free_port)"
export OH_PEER_PORT OH_WEB_SECRET="$(secret)" OH_WEB_POST_SECRET="$(secret)" OH_SERVICE_SECRET="$(secret)"
node_issuer="http://127.0.0.1:$OH_PEER_PORT"
cd peers/node-oidc-provider
start_server node-oidc-provider "$node_issuer/.well-known/openid-configuration" taskset -c 0 node provider.mjs
cd "$root"
rate[node_wrk_RS256]="$(wrk_rate "$node_issuer/token" "grant_type=client_credentials&scope=read" "$(basic service-client "$OH_SERVICE_SECRET")")"
rate[node_goose_RS256]="$(goose_rate "$node_issuer" targets/node-oidc-provider.toml profiles/node-oidc-provider.toml)"
stop

# --- raw signing rates of this CPU, one core ---
openssl_rate() { taskset -c 0 openssl speed -seconds 3 "$1" 2>/dev/null | awk -v k="$2" '$0 ~ k {print $(NF-1); exit}'; }
rate[openssl_rsa2048_sign]="$(openssl_rate rsa2048 'rsa 2048 bits')"
rate[openssl_p256_sign]="$(openssl_rate ecdsap256 'nistp256')"

{
  echo "# Token issuance benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); server pinned to CPU 0, load generator to CPU 1."
  echo "Medians of $runs runs of ${seconds} s; wrk -t1 -c16; oidc-harness load --users 16 (closed model)."
  echo
  echo "| measurement | value |"
  echo "|---|---|"
  for k in $(printf '%s\n' "${!rate[@]}" | sort); do echo "| $k | ${rate[$k]} |"; done
  # Shares of the medians: of the ceiling over HTTP, and of the bare signature (openssl).
  share() { python3 -c "print(f'{100 * $(echo "$1" | first) / $(echo "$2" | first):.1f}%')"; }
  for alg in RS256 ES256 EdDSA; do
    echo "| share_of_ceiling_$alg | $(share "${rate[ours_wrk_$alg]}" "${rate[ceiling_wrk_$alg]}") |"
  done
  echo "| share_of_openssl_RS256 | $(share "${rate[ours_wrk_RS256]}" "${rate[openssl_rsa2048_sign]}") |"
  echo "| share_of_openssl_ES256 | $(share "${rate[ours_wrk_ES256]}" "${rate[openssl_p256_sign]}") |"
} | tee "$out"
rm -rf "$work"
