"""The tuning page's script (tune_page.js) run in node, without a browser: its functions
that need no page (the filter, the "Copy as config" block) called with JSON arguments."""

import json
import shutil
import subprocess

from conftest import ROOT

SCRIPT = ROOT / "workflow" / "scripts" / "synthdet" / "report" / "tune_page.js"

# Loads the script as the page does (TUNE_DATA null: it does not start), then answers each
# [function name, arguments] call of a JSON list on stdin with its result.
RUNNER = r"""
const vm = require("vm");
const fs = require("fs");
const context = { window: {}, TUNE_DATA: null };
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context);
const calls = JSON.parse(fs.readFileSync(0, "utf8"));
const results = calls.map(([name, args]) => context.window.tune[name](...args));
process.stdout.write(JSON.stringify(results));
"""


def missing():
    """Why the script cannot run here, or None."""
    return None if shutil.which("node") else "node not found (apt-get install nodejs)"


def call_many(calls):
    """[(function name, [arguments])] -> their results, in one node process."""
    run = subprocess.run(
        ["node", "-e", RUNNER, str(SCRIPT)],
        input=json.dumps(calls),  # ASCII: astral characters travel as escaped pairs
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=60,
    )
    if run.returncode != 0:
        raise RuntimeError(f"node failed: {run.stderr[-2000:]}")
    return json.loads(run.stdout)


def thresholds_yaml(settings, classes):
    return call_many([("thresholdsYaml", [settings, classes])])[0]


# The same, as a session: one JSON [name, arguments] a line in, one JSON {result} a line out,
# so a test with many calls starts node once.
SESSION = r"""
const vm = require("vm");
const fs = require("fs");
const readline = require("readline");
const context = { window: {}, TUNE_DATA: null };
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context);
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const [name, args] = JSON.parse(line);
  let answer;
  try {
    answer = { result: context.window.tune[name](...args) };
  } catch (error) {
    answer = { error: String(error.stack) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
"""


class Session:
    """node running tune_page.js, answering calls until closed."""

    def __enter__(self):
        self.process = subprocess.Popen(
            ["node", "-e", SESSION, str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # bytes: a line ends at b"\n" only, never at U+2028
        )
        return self

    def call(self, name, *args):
        self.process.stdin.write(json.dumps([name, list(args)]).encode("ascii") + b"\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline().decode("utf-8"))
        if "error" in answer:
            raise RuntimeError(f"tune_page.js {name}: {answer['error']}")
        return answer["result"]

    def __exit__(self, *exc):
        self.process.stdin.close()
        self.process.wait(timeout=10)
