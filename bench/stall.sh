#!/usr/bin/env bash
# Honest numbers under a known stall, everything on 127.0.0.1: the reference server behind a
# proxy that stalls all traffic for 1 s every 5 s (bench/stall_proxy.py), loaded in the open
# model at RATE arrivals/s for SECONDS, and in the closed model for comparison.
#
# The truth is arithmetic: a fifth of the arrivals fall in a stall, and one due τ seconds into
# it waits 1 - τ, so the latency above the 80th percentile is the stall's remainder: p90 = 0.5 s,
# p99 = 0.95 s, p99.9 = 0.995 s (plus the server's own ~ms). The open model must report that;
# the closed model cannot (its users stop sending during the stall).
#
#   bench/stall.sh [RATE] [SECONDS]        (200/s for 20 s: about a minute)
# Results go to bench/results/stall-<date>T<time>.md.
set -euo pipefail
rate="${1:-200}"
seconds="${2:-20}"
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/peers/lib.sh"
cd "$root"
cargo build --release --locked -q -p oidc-harness
bin="$root/target/release/oidc-harness"
work="$(mktemp -d)"
out="$root/bench/results/stall-$(date -u +%Y-%m-%dT%H%M).md"
mkdir -p "$root/bench/results"
export OH_SERVICE_SECRET=service-client-secret OH_WEB_SECRET=web-app-secret OH_WEB_POST_SECRET=web-app-post-secret OH_USER_PASSWORD=bob-password

# The server answers on the proxy's port: its issuer (and so every endpoint discovery names) is
# the proxy's, so all of the load goes through the stall.
proxy_port="$(free_port)"
server_port="$(free_port)"
{ echo "public_origin = \"http://127.0.0.1:$proxy_port\""; "$bin" serve --print-default-config; } >"$work/server.toml"
python3 bench/stall_proxy.py "$proxy_port" "$server_port" 5 1 >"$work/proxy.log" 2>&1 &
proxy_pid=$!
server_scratch="$work"
start_server "reference server behind the stall proxy" "http://127.0.0.1:$proxy_port/api/oidc/.well-known/openid-configuration" \
  "$bin" serve --port "$server_port" --config "$work/server.toml"
trap 'kill "$server_pid" "$proxy_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
issuer="http://127.0.0.1:$proxy_port/api/oidc"
printf 'description = "stall bench: %s/s for %s s"\n[open]\nmax_users = 512\n[[open.step]]\nrate = %s.0\nduration = "%ss"\n' \
  "$rate" "$seconds" "$rate" "$seconds" >"$work/open.toml"
printf 'description = "stall bench: 16 users for %s s"\n[closed]\nusers = 16\nramp = "0s"\nhold = "%ss"\n' "$seconds" "$seconds" >"$work/closed.toml"
for model in open closed; do
  "$bin" load --scenario client-credentials --target "$issuer" --target-config targets/reference-server.toml \
    --load-profile "$work/$model.toml" --validate-every 0 --report-dir "$work/$model" >/dev/null 2>&1 || true
done
python3 - "$work" "$rate" "$seconds" <<'PY' | tee "$out"
import json, sys
work, rate, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
truth = {"p90": 500_000, "p99": 950_000, "p99_9": 995_000}
print(f"# Latency under a periodic stall (1 s every 5 s), {rate}/s for {seconds} s\n")
print("| model | transactions | failed | p50 | p90 | p99 | p99.9 | p90 vs truth | p99 vs truth | p99.9 vs truth |")
print("|---|---|---|---|---|---|---|---|---|---|")
errors = {}
for model in ("open", "closed"):
    t = json.load(open(f"{work}/{model}/load.json"))["transactions"]["client-credentials"]
    l = t["latency_us"]
    ms = lambda us: f"{us / 1000:.1f} ms"
    off = lambda k: f"{100 * (l[k] - truth[k]) / truth[k]:+.1f}%"
    print(f"| {model} | {t['count']} | {t['failed']} | {ms(l['p50'])} | {ms(l['p90'])} | {ms(l['p99'])} | {ms(l['p99_9'])} | {off('p90')} | {off('p99')} | {off('p99_9')} |")
    errors[model] = json.load(open(f"{work}/{model}/load.json"))["errors"]
print("\nTruth (arithmetic): p90 500 ms, p99 950 ms, p99.9 995 ms, plus the server's own time, and the")
print("backlog's: the arrivals a stall held back reach the server together when it ends.")
print(f"\nErrors: {errors}")
PY
