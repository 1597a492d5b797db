#!/usr/bin/env bash
# report.html in a real browser (called by .ci/run; runnable by hand): a conform run with a fault
# on the embedded server, its report.html opened in headless Chromium (Debian's `chromium`,
# installed when missing), and the DOM after its scripts ran (--dump-dom) checked: the overview
# has a row per suite and a cell per check, failures come first, and a filter given in the
# address (#verdict=fail, #q=TEXT) hides what it should. Nothing is fetched: Chromium runs with
# its background networking off, and the page loads from a file.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v chromium >/dev/null; then
  echo "report.html: installing Debian's chromium" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
cargo build --locked -q -p oidc-harness
bin="$root/target/debug/oidc-harness"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fault="$("$bin" serve --list-faults | head -1 | awk '{print $1}')"
"$bin" conform -q --fault "$fault" --report-dir "$work/report" >/dev/null 2>&1 && { echo "report.html: the fault $fault did not fail the run" >&2; exit 1; }
dump() { # FRAGMENT -> the DOM after the page's scripts ran
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$work/profile" --virtual-time-budget=3000 \
    --dump-dom "file://$work/report/report.html$1" 2>/dev/null
}
dump "" >"$work/all.html"
dump "#verdict=fail" >"$work/fail.html"
dump "#q=$fault-no-such-text" >"$work/none.html"
# A cell of the overview links to its check, whatever the filters.
dump "#check-discovery.reachable" >"$work/cell.html"
python3 - "$work" <<'PY'
import json, sys
from html.parser import HTMLParser

work = sys.argv[1]
report = json.load(open(f"{work}/report/report.json"))

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.suite_rows, self.cells, self.articles, self.shown, self._in_shown = 0, 0, [], None, False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "suite":
            self.suite_rows += 1
        if tag == "a" and self.in_grid:
            self.cells += 1
        if tag == "div" and a.get("class") == "grid":
            self.in_grid = True
        if tag == "article" and "check" in (a.get("class") or ""):
            self.articles.append((a.get("data-verdict"), "hidden" in a))
        self._in_shown = a.get("id") == "shown"
    def handle_endtag(self, tag):
        if tag == "div":
            self.in_grid = False
    def handle_data(self, data):
        if self._in_shown:
            self.shown, self._in_shown = data.strip(), False
    in_grid = False

def read(name):
    dom = Dom()
    dom.feed(open(f"{work}/{name}").read())
    return dom

def fail(why):
    sys.exit(f"report.html in chromium: {why}")

suites = sorted({c["suite"] for c in report["checks"]})
checks = len(report["checks"])
failed = sum(1 for c in report["checks"] if c["verdict"] == "fail" and not c.get("expected_failure"))
dom = read("all.html")
if dom.suite_rows != len(suites) or dom.cells != checks:
    fail(f"the overview has {dom.suite_rows} suite rows and {dom.cells} cells, not {len(suites)} and {checks}")
verdicts = [v for v, _ in dom.articles]
if len(verdicts) != checks or verdicts[0] != "fail" or "fail" in verdicts[verdicts.index("pass"):]:
    fail(f"the checks are not failures first: {verdicts[:8]}...")
if dom.shown != f"{checks} shown" or any(hidden for _, hidden in dom.articles):
    fail(f"unfiltered, every check shows: {dom.shown}")
dom = read("fail.html")
if any(hidden != (v != "fail") for v, hidden in dom.articles) or dom.shown != f"{failed} shown":
    fail(f"#verdict=fail leaves {dom.shown}; hidden: {[(v, h) for v, h in dom.articles][:8]}")
dom = read("none.html")
if not all(hidden for _, hidden in dom.articles) or dom.shown != "0 shown":
    fail(f"a search for text no check has leaves {dom.shown}")
dom = read("cell.html")
if any(hidden for _, hidden in dom.articles):
    fail("a link to one check (#check-...) leaves checks hidden")
print(f"report.html in chromium: {len(suites)} suite rows, {checks} cells, failures first; #verdict=fail shows {failed}, a search for nothing 0")
PY
