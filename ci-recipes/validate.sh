#!/usr/bin/env bash
# Checks the CI recipes (called by .ci/run; runnable by hand from anywhere):
# - action.yml (the GitHub composite action): its structure, that every `${{ inputs.* }}` and
#   `${{ steps.*.outputs.* }}` it uses is declared or written, and its steps run as a runner
#   would run them (bash -eo pipefail, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STEP_SUMMARY), against
#   the embedded reference server: once passing, once with a fault, whose verdict must fail the
#   gate step;
# - ci-recipes/gitlab/oidc-harness.gitlab-ci.yml: its structure, and its script run as a runner
#   would run it, the junit.xml it names read back as JUnit.
# The install steps build the project as `cargo install` does, in debug and into target/ (the
# tests' build), so the check takes seconds, not a release build's minutes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/peers/lib.sh"
# PyYAML comes with the manifests' validator: one tooling virtualenv.
venv="$root/target/deploy-venv"
python_venv "$venv" "$root/deploy/kubernetes/requirements.txt"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
fault="$(cargo run --locked -q -p oidc-harness -- serve --list-faults | head -1 | awk '{print $1}')"
export OH_ROOT="$root" OH_SCRATCH="$scratch" OH_FAULT="$fault"
"$venv/bin/python" - <<'PY'
import os, re, subprocess, sys, xml.etree.ElementTree as ET, yaml

root, scratch, fault = os.environ["OH_ROOT"], os.environ["OH_SCRATCH"], os.environ["OH_FAULT"]
install_flags = f"--debug --target-dir {root}/target"

def fail(why):
    sys.exit(f"ci-recipes: {why}")

# --- GitHub: action.yml ---
action = yaml.safe_load(open(os.path.join(root, "action.yml")))
for key in ("name", "description", "inputs", "outputs", "runs"):
    if key not in action:
        fail(f"action.yml has no {key}")
if action["runs"].get("using") != "composite":
    fail("action.yml is not a composite action")
steps = action["runs"]["steps"]
inputs = action["inputs"]
ids = {s["id"] for s in steps if "id" in s}
text = open(os.path.join(root, "action.yml")).read()
for name in re.findall(r"\$\{\{\s*inputs\.([\w-]+)", text):
    if name not in inputs:
        fail(f"action.yml uses inputs.{name}, which it does not declare")
for m in re.finditer(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text):
    if m.group(1) not in ids:
        fail(f"action.yml reads the outputs of step {m.group(1)}, which has no such id")
for s in steps:
    if "run" in s and s.get("shell") != "bash":
        fail(f"step {s.get('name')!r} runs without shell: bash (composite steps must name their shell)")
    for script in re.findall(r"ci-recipes/github/[\w.-]+", s.get("run", "")):
        if not os.access(os.path.join(root, script), os.X_OK):
            fail(f"step {s.get('name')!r} runs {script}, which is missing or not executable")
conform_script = open(os.path.join(root, "ci-recipes/github/conform.sh")).read()
for output in re.findall(r"steps\.conform\.outputs\.([\w-]+)", text):
    if f"echo \"{output}=" not in conform_script:
        fail(f"action.yml reads steps.conform.outputs.{output}, which conform.sh never writes")

def run_action(case, given):
    """Runs the action's steps as a runner would; returns (gate exit code, outputs, summary)."""
    work = os.path.join(scratch, f"github-{case}")
    os.makedirs(work)
    files = {n: os.path.join(work, n) for n in ("output", "path", "summary")}
    for f in files.values():
        open(f, "w").close()
    values = {name: str(spec.get("default", "")) for name, spec in inputs.items()}
    values.update(given)
    outputs, path = {}, os.environ["PATH"]
    def expand(value):
        value = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], str(value))
        return re.sub(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}", lambda m: outputs.get(m.group(1), {}).get(m.group(2), ""), value)
    code = None
    for s in steps:
        condition = s.get("if", "")
        if "inputs.upload-report == 'true'" in condition and values["upload-report"] != "true":
            continue
        if "uses" in s:
            # The upload: what it would upload must be there.
            upload = os.path.join(work, expand(s["with"]["path"]))
            if not os.path.isfile(os.path.join(upload, "report.html")):
                fail(f"{case}: the upload step's path {upload} holds no report.html")
            continue
        env = dict(os.environ, PATH=path, GITHUB_ACTION_PATH=root, RUNNER_TEMP=work, GITHUB_OUTPUT=files["output"],
                   GITHUB_PATH=files["path"], GITHUB_STEP_SUMMARY=files["summary"])
        env.update({k: expand(v) for k, v in s.get("env", {}).items()})
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", expand(s["run"])], cwd=work, env=env,
                              capture_output=True, text=True, timeout=900)
        if s.get("name", "").startswith("Gate"):
            code = done.returncode
            continue
        if done.returncode != 0:
            fail(f"{case}: step {s.get('name')!r} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        written = dict(line.split("=", 1) for line in open(files["output"]).read().splitlines() if "=" in line)
        if "id" in s:
            outputs[s["id"]] = written
        path = ":".join([l for l in open(files["path"]).read().splitlines() if l] + [os.environ["PATH"]])
    return code, outputs.get("conform", {}), open(files["summary"]).read()

code, out, summary = run_action("pass", {"install-flags": install_flags})
if (code, out.get("status"), out.get("exit-code")) != (0, "PASSED", "0"):
    fail(f"against the embedded server the action gated {code} with {out}")
if not summary.startswith("#"):
    fail(f"the step summary is not summary.md: {summary[:200]!r}")
code, out, _ = run_action("fault", {"install-flags": install_flags, "args": f"--fault {fault}", "report-dir": "reports"})
if (code, out.get("status")) != (1, "FAILED"):
    fail(f"with the fault {fault} the action gated {code} with {out}: the verdict must fail the job")
# A run that judged nothing never passes the gate: an unreachable target (exit 2), an option
# that would end the run without a verdict.
for case, given in [("unreachable", {"target": "http://127.0.0.1:9/api/oidc"}), ("list", {"args": "--list"})]:
    code, out, summary = run_action(case, {"install-flags": install_flags, **given, "upload-report": "false"})
    if (code, out.get("status")) != (2, "ERROR") or summary:
        fail(f"{case}: the action gated {code} with {out} and a summary of {len(summary)} bytes; a run without a verdict must gate 2")
print(f"ci-recipes: action.yml ran as a runner runs it: PASSED gates 0, the fault {fault} gates 1, no verdict gates 2")

# --- GitLab: the template ---
template = yaml.safe_load(open(os.path.join(root, "ci-recipes/gitlab/oidc-harness.gitlab-ci.yml")))
job, hidden = template.get("oidc-harness", {}), template.get(".oidc-harness", {})
if job.get("extends") != ".oidc-harness" or not isinstance(hidden.get("script"), list):
    fail("the GitLab template must have a job `oidc-harness` extending `.oidc-harness`, which has a script")
variables = {k: str(v) for k, v in hidden["variables"].items()}
junit = hidden["artifacts"]["reports"]["junit"]
if hidden["artifacts"].get("when") != "always" or "$OIDC_HARNESS_REPORT_DIR" not in junit:
    fail("the GitLab template must keep its artifacts always, with the junit report in the report directory")
work = os.path.join(scratch, "gitlab")
os.makedirs(work)
variables["OIDC_HARNESS_INSTALL"] = f"cargo install --locked --quiet {install_flags} --path {root}/harness --root {work}/cargo"
env = dict(os.environ, **variables, PATH=f"{work}/cargo/bin:{os.environ['PATH']}")
done = subprocess.run(["bash", "-eo", "pipefail", "-c", "\n".join(hidden["script"])], cwd=work, env=env, capture_output=True, text=True, timeout=900)
if done.returncode != 0:
    fail(f"the GitLab script exited {done.returncode} against the embedded server:\n{done.stdout}\n{done.stderr}")
junit_file = os.path.join(work, junit.replace("$OIDC_HARNESS_REPORT_DIR", variables["OIDC_HARNESS_REPORT_DIR"]))
cases = ET.parse(junit_file).getroot().iter("testcase")
count = sum(1 for _ in cases)
if count == 0:
    fail(f"{junit_file} holds no test case")
print(f"ci-recipes: the GitLab template's script ran as a runner runs it: exit 0, junit.xml with {count} test cases")
PY
