# Shared by the peers' run.sh scripts (source it): a free port, and a server started in the
# background, waited for, and stopped when the script exits.

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME URL COMMAND...: runs COMMAND in the background, stops it on exit, and waits
# (up to 10 s) until URL answers; prints the server's output and fails if it dies first. A
# directory named in $server_scratch (optional) is removed on exit too, after the server stops.
start_server() {
  local name="$1" url="$2"
  shift 2
  server_log="$(mktemp)"
  "$@" >"$server_log" 2>&1 &
  server_pid=$!
  trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$server_log" ${server_scratch:+"$server_scratch"}' EXIT
  for _ in $(seq 1 100); do
    if curl -fsS "$url" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "$name did not start (waited for $url):" >&2
  cat "$server_log" >&2
  return 1
}

# python_venv DIR REQUIREMENTS: a virtualenv at DIR with REQUIREMENTS installed, every package
# checked against its hash; reused while the requirements file and the Python interpreter are
# the same.
python_venv() {
  local venv="$1" requirements="$2" stamp
  stamp="$( (sha256sum "$requirements"; python3 --version) | sha256sum | cut -d' ' -f1)"
  if [[ "$(cat "$venv/.oidc-harness-stamp" 2>/dev/null)" != "$stamp" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$requirements"
    echo "$stamp" >"$venv/.oidc-harness-stamp"
  fi
}
