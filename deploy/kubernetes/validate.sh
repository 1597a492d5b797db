#!/usr/bin/env bash
# Checks the Kubernetes manifests (called by .ci/run; runnable by hand from anywhere):
# 1. against the Kubernetes API schemas, strictly (kubernetes-validate, pinned with hashes in
#    requirements.txt, installed into target/deploy-venv);
# 2. that they agree with each other: N is the same in completions, parallelism,
#    maxFailedIndexes and OIDC_HARNESS_WORKER, every ConfigMap and Secret key they read exists;
# 3. by running the Job as written on 127.0.0.1: its container's args and env, expanded as the
#    kubelet expands them, for every completion index at one start time, against
#    `oidc-harness serve`; then `load merge` of the pods' stdout, as `kubectl logs` gives it.
#    Only the target (the local server), the target file's client and a short load profile are
#    swapped in.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$root/peers/lib.sh"

venv="$root/target/deploy-venv"
python_venv "$venv" "$here/requirements.txt"
manifests=("$here/configmap.yaml" "$here/secret.yaml" "$here/job.yaml")
# The oldest Kubernetes the manifests are for (completion-index env and Indexed Jobs are older)
# and the newest the pinned validator knows.
for version in 1.30.0 1.37.0; do
  "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "${manifests[@]}"
done
echo "deploy/kubernetes: the manifests validate against the Kubernetes 1.30 and 1.37 schemas (strict)"

cargo build --locked -q -p oidc-harness --bin oidc-harness
bin="$root/target/debug/oidc-harness"
scratch="$(mktemp -d)"
port="$(free_port)"
server_scratch="$scratch"
start_server "oidc-harness serve" "http://127.0.0.1:$port/api/oidc/.well-known/openid-configuration" "$bin" serve --port "$port"
export OH_HARNESS_BIN="$bin" OH_ISSUER="http://127.0.0.1:$port/api/oidc" OH_SCRATCH="$scratch"
"$venv/bin/python" - "${manifests[@]}" <<'PY'
import datetime, json, os, re, subprocess, sys, yaml

docs = {}
for path in sys.argv[1:]:
    for doc in yaml.safe_load_all(open(path)):
        docs[doc["kind"]] = doc
config, secret, job = docs["ConfigMap"], docs["Secret"], docs["Job"]
spec = job["spec"]
pod = spec["template"]["spec"]
container = pod["containers"][0]
env = container["env"]
n = spec["completions"]

def fail(why):
    sys.exit(f"deploy/kubernetes: {why}")

if spec.get("completionMode") != "Indexed" or spec["parallelism"] != n or spec.get("maxFailedIndexes") != n:
    fail(f"the Job must be Indexed with parallelism = maxFailedIndexes = completions ({spec['parallelism']}, {spec.get('maxFailedIndexes')}, {n})")
worker = next(e["value"] for e in env if e["name"] == "OIDC_HARNESS_WORKER")
if worker != f"$(JOB_COMPLETION_INDEX)/{n}":
    fail(f"OIDC_HARNESS_WORKER is {worker!r}, not $(JOB_COMPLETION_INDEX)/{n}: N differs from completions")
for e in env:
    ref = e.get("valueFrom", {}).get("configMapKeyRef")
    if ref and (ref["name"] != config["metadata"]["name"] or ref["key"] not in config["data"]):
        fail(f"env {e['name']} reads {ref}, which configmap.yaml lacks")
for item in next(v for v in pod["volumes"] if "configMap" in v)["configMap"]["items"]:
    if item["key"] not in config["data"]:
        fail(f"the config volume mounts {item['key']}, which configmap.yaml lacks")
if container["envFrom"][0]["secretRef"]["name"] != secret["metadata"]["name"]:
    fail("the Job reads another Secret than secret.yaml's")
for name in re.findall(r'secret_env = "([A-Z_]+)"', config["data"]["target.toml"]):
    if name not in secret["stringData"]:
        fail(f"target.toml names {name}, which secret.yaml lacks")

# The Job as the kubelet would run it, every index, on loopback.
scratch = os.environ["OH_SCRATCH"]
mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "config")
files = {"target.toml": '[clients.service]\nclient_id = "service-client"\nsecret_env = "OH_SERVICE_SECRET"\nscope = "read"\n',
         "load-profile.toml": 'description = "validate.sh: 60/s for 2 s"\n[open]\nmax_users = 6\n[[open.step]]\nrate = 60.0\nduration = "2s"\n'}
for name, text in files.items():
    open(os.path.join(scratch, name), "w").write(text)
start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
data = dict(config["data"], target=os.environ["OH_ISSUER"], **{"start-at": start})
pods = []
for k in range(n):
    values = {"JOB_COMPLETION_INDEX": str(k)}
    for e in env:
        if "value" in e:
            values[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], e["value"])
        elif "configMapKeyRef" in e["valueFrom"]:
            values[e["name"]] = data[e["valueFrom"]["configMapKeyRef"]["key"]]
    args = [re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], a).replace(mount, scratch) for a in container["args"]]
    args = [a.replace("--report-dir=/results", f"--report-dir={scratch}/pod-{k}") for a in args]
    pod_env = dict(os.environ, **values, OH_SERVICE_SECRET="service-client-secret")
    pods.append(subprocess.Popen([os.environ["OH_HARNESS_BIN"], *args], env=pod_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
logs = ""
for k, p in enumerate(pods):
    out, err = p.communicate(timeout=120)
    if p.returncode != 0:
        fail(f"pod {k} exited {p.returncode}:\n{err}")
    logs += out + err  # kubectl logs interleaves both streams
open(os.path.join(scratch, "pods.log"), "w").write(logs)
merged = os.path.join(scratch, "merged")
m = subprocess.run([os.environ["OH_HARNESS_BIN"], "load", "merge", os.path.join(scratch, "pods.log"), f"--report-dir={merged}"], capture_output=True, text=True)
if m.returncode != 0:
    fail(f"load merge exited {m.returncode}:\n{m.stderr}")
report = json.load(open(os.path.join(merged, "load.json")))
if report["workers"] != n or report["arrivals"]["scheduled"] != 120 or report["arrivals"]["started"] != 120:
    fail(f"the merged run is not the whole schedule: {report['workers']} workers, arrivals {report['arrivals']}")
print(f"deploy/kubernetes: the Job ran as {n} workers on 127.0.0.1 and merged: {report['transactions']['client-credentials']['count']} transactions, p99 {report['transactions']['client-credentials']['latency_us']['p99']} µs")
PY
