#!/usr/bin/env bash
# The load generator's own cost, everything on 127.0.0.1 in one run on this machine:
#   - the client-credentials scenario's rate as a share of wrk's on the same target: the
#     reference server signing EdDSA access tokens on CPU 0, one core of load generator on CPU 1
#     (wrk -t1 -c16, or `oidc-harness load` with 16 users). On this machine the server's core is
#     the limit for both, so the comparison is also run generator-bound: a busy loop takes about
#     half of CPU 1 from either generator, and the server's CPU share shows it has room to spare;
#   - a distributed run's overhead: 3 workers (`--worker K/3`, one `--start-at`, all three on
#     CPU 1, so the same CPU as one run) and `load merge`, against one run of the same 15 users;
#     and the time `load merge` itself takes.
# Runs alternate (wrk, single, workers) so that this VM's drift touches all three alike; medians
# of RUNS runs of SECONDS each.
#
#   bench/load-scale.sh [RUNS] [SECONDS]        (5 runs of 10 s: about 4 minutes)
# Results go to bench/results/load-scale-<date>T<time>.md.
set -euo pipefail
runs="${1:-5}"
seconds="${2:-10}"
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/peers/lib.sh"
cd "$root"
command -v wrk >/dev/null || { echo "needs wrk (Debian: apt-get install wrk)" >&2; exit 2; }
command -v taskset >/dev/null || { echo "needs taskset (util-linux)" >&2; exit 2; }
cargo build --release --locked -q -p oidc-harness
bin="$root/target/release/oidc-harness"
work="$(mktemp -d)"
out="$root/bench/results/load-scale-$(date -u +%Y-%m-%dT%H%M).md"
mkdir -p "$root/bench/results"
source "$root/bench/lib.sh"
# throughput FILE: client-credentials transactions/s of a load.json, 0 when any failed.
throughput() { python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['transactions']['client-credentials']; print(round(t['throughput_per_s'],1) if t['failed']==0 else 0)" "$1"; }

export OH_SERVICE_SECRET=service-client-secret OH_WEB_SECRET=web-app-secret OH_WEB_POST_SECRET=web-app-post-secret OH_USER_PASSWORD=bob-password
"$bin" serve --print-default-config | sed "/client_id = \"service-client\"/,/^\[\[/ s/access_token_signing_alg = \"RS256\"/access_token_signing_alg = \"EdDSA\"/" >"$work/eddsa.toml"
port="$(free_port)"
issuer="http://127.0.0.1:$port/api/oidc"
start_server "reference server (EdDSA)" "$issuer/.well-known/openid-configuration" taskset -c 0 "$bin" serve --port "$port" --config "$work/eddsa.toml"
target=(--target "$issuer" --target-config targets/reference-server.toml --scenario client-credentials)
plan() { printf 'description = "bench: %s users"\n[closed]\nusers = %s\nramp = "0s"\nhold = "%ss"\n' "$1" "$1" "$seconds" >"$work/users-$1.toml"; }
plan 16
plan 15
svc="$(printf '%s:%s' service-client service-client-secret | base64 -w0)"
BODY="grant_type=client_credentials&scope=read" BASIC="$svc" taskset -c 1 wrk -t1 -c16 -d5s -s bench/cc.lua "$issuer/token" >/dev/null

wrk=() single16=() single15=() workers=() merge_ms=() busy_wrk=() busy_ours=() hog_wrk=() hog_ours=() busy_hog_wrk=() busy_hog_ours=()
# The server's CPU time in clock ticks: its share of one core during a measurement says which
# side was the bottleneck (the generator, when the server stays below ~95%).
ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
busy() { python3 -c "print(round(100 * ($2 - $1) / $(getconf CLK_TCK) / $seconds))"; }
for i in $(seq "$runs"); do
  t="$(ticks)"
  line="$(BODY="grant_type=client_credentials&scope=read" BASIC="$svc" taskset -c 1 wrk -t1 -c16 -d"${seconds}s" -s bench/cc.lua "$issuer/token" | grep '^RESULT')"
  busy_wrk+=("$(busy "$t" "$(ticks)")")
  [ "$(echo "$line" | field not_ok)" = 0 ] || { echo "non-200 answers: $line" >&2; exit 1; }
  wrk+=("$(echo "$line" | field rate)")

  t="$(ticks)"
  taskset -c 1 "$bin" load "${target[@]}" --load-profile "$work/users-16.toml" --report-dir "$work/single16-$i" >/dev/null 2>&1
  busy_ours+=("$(busy "$t" "$(ticks)")")
  single16+=("$(throughput "$work/single16-$i/load.json")")
  taskset -c 1 "$bin" load "${target[@]}" --load-profile "$work/users-15.toml" --report-dir "$work/single15-$i" >/dev/null 2>&1
  single15+=("$(throughput "$work/single15-$i/load.json")")

  # Generator-bound: a busy loop shares CPU 1 with the generator (the scheduler gives each about
  # half), so the server has room to spare and the generator's own cost per request decides.
  taskset -c 1 sh -c 'while :; do :; done' &
  hog=$!
  t="$(ticks)"
  line="$(BODY="grant_type=client_credentials&scope=read" BASIC="$svc" taskset -c 1 wrk -t1 -c16 -d"${seconds}s" -s bench/cc.lua "$issuer/token" | grep '^RESULT')"
  busy_hog_wrk+=("$(busy "$t" "$(ticks)")")
  hog_wrk+=("$(echo "$line" | field rate)")
  t="$(ticks)"
  taskset -c 1 "$bin" load "${target[@]}" --load-profile "$work/users-16.toml" --report-dir "$work/hog-$i" >/dev/null 2>&1
  busy_hog_ours+=("$(busy "$t" "$(ticks)")")
  hog_ours+=("$(throughput "$work/hog-$i/load.json")")
  kill "$hog"
  wait "$hog" 2>/dev/null || true

  start="$(date -u -d '+3 sec' +%Y-%m-%dT%H:%M:%S.%3NZ)"
  pids=()
  for k in 0 1 2; do
    taskset -c 1 "$bin" load "${target[@]}" --load-profile "$work/users-15.toml" --worker "$k/3" --start-at "$start" \
      --report-dir "$work/w$i-$k" >/dev/null 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t0="$(date +%s%N)"
  "$bin" load merge "$work/w$i-0" "$work/w$i-1" "$work/w$i-2" --report-dir "$work/merged-$i" >/dev/null 2>&1
  merge_ms+=("$(( ($(date +%s%N) - t0) / 1000000 ))")
  workers+=("$(throughput "$work/merged-$i/load.json")")
done
kill "$server_pid" 2>/dev/null || true

share() { python3 -c "print(f'{100 * $(echo "$1" | first) / $(echo "$2" | first):.1f}%')"; }
{
  echo "# Load generator benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); reference server (EdDSA access tokens) on CPU 0, load generator on CPU 1."
  echo "Medians (min-max) of $runs runs of ${seconds} s; client_credentials, client_secret_basic; every answer a 200."
  echo
  echo "| measurement | value |"
  echo "|---|---|"
  echo "| wrk -t1 -c16, requests/s | $(printf '%s\n' "${wrk[@]}" | median) |"
  echo "| oidc-harness load, 16 users, transactions/s | $(printf '%s\n' "${single16[@]}" | median) |"
  echo "| oidc-harness load, 15 users, transactions/s | $(printf '%s\n' "${single15[@]}" | median) |"
  echo "| 3 workers x 5 users + load merge, transactions/s | $(printf '%s\n' "${workers[@]}" | median) |"
  echo "| load merge of 3 workers, wall ms | $(printf '%s\n' "${merge_ms[@]}" | median) |"
  echo "| server CPU, % of one core: under wrk / under oidc-harness (16 users) | $(printf '%s\n' "${busy_wrk[@]}" | median) / $(printf '%s\n' "${busy_ours[@]}" | median) |"
  echo "| generator-bound (a busy loop shares CPU 1): wrk, requests/s | $(printf '%s\n' "${hog_wrk[@]}" | median) |"
  echo "| generator-bound: oidc-harness load, 16 users, transactions/s | $(printf '%s\n' "${hog_ours[@]}" | median) |"
  echo "| generator-bound: server CPU, % of one core: under wrk / under oidc-harness | $(printf '%s\n' "${busy_hog_wrk[@]}" | median) / $(printf '%s\n' "${busy_hog_ours[@]}" | median) |"
  echo "| generator-bound: oidc-harness ÷ wrk | $(share "$(printf '%s\n' "${hog_ours[@]}" | median)" "$(printf '%s\n' "${hog_wrk[@]}" | median)") |"
  echo "| oidc-harness ÷ wrk (16 users) | $(share "$(printf '%s\n' "${single16[@]}" | median)" "$(printf '%s\n' "${wrk[@]}" | median)") |"
  echo "| 3 workers ÷ one run (15 users) | $(share "$(printf '%s\n' "${workers[@]}" | median)" "$(printf '%s\n' "${single15[@]}" | median)") |"
} | tee "$out"
rm -rf "$work"
