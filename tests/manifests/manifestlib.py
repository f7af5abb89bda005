"""Helpers for the manifest tests: kustomize, the API emulator, Prometheus, Markdown.

Standard library only. Every process started here is stopped by its owner (a context manager
or an explicit stop()), by its own PID.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
OVERLAYS = {name: MANIFESTS / "overlays" / name for name in ("staging", "production")}
RULES_FILE = MANIFESTS / "base/monitoring/luminate-alerts.rules.yaml"
PROMETHEUSRULE_FILE = MANIFESTS / "base/monitoring/prometheusrule.yaml"
DASHBOARD_FILE = MANIFESTS / "base/monitoring/dashboards/luminate.json"
ALERT_TESTS = Path(__file__).resolve().parent / "alerts.test.yaml"
RUNBOOKS = ROOT / "runbooks"
DOCS = ROOT / "docs"
KUBEEMU = ROOT / "scripts/localenv/kubeemu.py"
PROMFIXTURES = ROOT / "scripts/localenv/promfixtures.py"
RUNBOOK_URL_PREFIX = "https://github.com/luminate/luminatectl/blob/main/"

KUBECTL = shutil.which("kubectl") or "kubectl"
PROMTOOL = shutil.which("promtool") or "promtool"


def run(argv, *, stdin=None, env=None, cwd=ROOT, timeout=120):
    """Runs argv; returns the CompletedProcess (text)."""
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=timeout)


def kustomize(directory, kubectl=KUBECTL):
    proc = run([kubectl, "kustomize", str(directory)])
    if proc.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{proc.stderr}")
    return proc.stdout


# ---------------------------------------------------------------------------------------------
# The Kubernetes API emulator


class Emulator:
    """scripts/localenv/kubeemu.py on a free port, with its own kubeconfig and kubectl cache."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="manifest-tests-emu."))
        self.kubeconfig = self.dir / "kubeconfig"
        self.proc = subprocess.Popen(
            ["python3", str(KUBEEMU), "--port", "0", "--write-kubeconfig", str(self.kubeconfig),
             "--context-name", "luminate-local", "--namespace", "luminate"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        match = re.match(r"listening (\S+):(\d+)", line)
        if not match:
            self.stop()
            raise AssertionError(f"kubeemu did not start: {line!r}")
        self.url = f"http://{match.group(1)}:{match.group(2)}"
        self.env = dict(os.environ, KUBECONFIG=str(self.kubeconfig), KUBECACHEDIR=str(self.dir / "cache"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def kubectl(self, *args, stdin=None, check=True, timeout=120):
        proc = run([KUBECTL, *args], stdin=stdin, env=self.env, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    def control(self, path, body=None):
        """The emulator's /_emulator/ control API."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/_emulator/" + path, data=data,
                                         method="GET" if body is None else "POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stored_objects(self):
        return self.control("objects")["items"]


# ---------------------------------------------------------------------------------------------
# Prometheus and PromQL


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loaded_rule_groups(rule_files):
    """Starts Prometheus with these rule files and returns /api/v1/rules' groups, then stops it."""
    work = Path(tempfile.mkdtemp(prefix="manifest-tests-prom."))
    config = work / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1m\nrule_files:\n"
                      + "".join(f"  - {json.dumps(str(f))}\n" for f in rule_files))
    port = free_port()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rules", timeout=2) as r:
                    groups = json.loads(r.read())["data"]["groups"]
                if groups:
                    return groups
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("Prometheus did not load the rule files")
            time.sleep(0.1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def check_promql(expressions):
    """promtool's verdict on PromQL expressions (each wrapped as a recording rule): (ok, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".rules.yaml", delete=False) as f:
        f.write("groups:\n  - name: promql-check\n    rules:\n")
        for i, expr in enumerate(expressions):
            f.write(f"      - record: promql_check_{i}\n        expr: {json.dumps(expr)}\n")
    try:
        proc = run([PROMTOOL, "check", "rules", f.name])
        return proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        os.unlink(f.name)


_PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
                 "and", "or", "unless", "inf", "nan", "Inf", "NaN"}


def metric_names(expr):
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", s):
        token = m.group(0)
        if token in _PROMQL_WORDS or s[m.end():].lstrip().startswith("("):
            continue
        names.add(token)
    return names


def fixture_metric_names():
    """Every series name in the local environment's Prometheus fixtures."""
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "fixtures.om"
        proc = run(["python3", str(PROMFIXTURES), "--openmetrics", str(out)])
        if proc.returncode != 0:
            raise AssertionError(f"promfixtures.py failed:\n{proc.stderr}")
        names = set()
        with out.open() as f:
            for line in f:
                if line and not line.startswith("#"):
                    names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
        return names


# ---------------------------------------------------------------------------------------------
# Markdown


FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.M | re.S)


def fenced_blocks(text):
    """(info string, body with the fence's indentation removed, line number) per fenced block."""
    blocks = []
    for m in FENCE.finditer(text):
        indent = len(m.group("indent"))
        body = "\n".join(line[indent:] for line in m.group("body").splitlines())
        blocks.append((m.group("info").strip(), body.strip("\n"), text.count("\n", 0, m.start()) + 1))
    return blocks


def front_matter(text):
    """The YAML front matter as a dict: `key: value` lines, `[a, b]` lists, quoted strings."""
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 4)
    if end < 0:
        return None
    fields = {}
    for line in text[4:end].splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"front matter line without a key: {line!r}")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            value = [v.strip().strip("'\"") for v in value[1:-1].split(",") if v.strip()]
        else:
            value = value.strip("'\"")
        fields[key.strip()] = value
    return fields


def github_anchor(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text):
    """Every heading anchor in a Markdown text (outside fenced blocks), GitHub-style."""
    stripped = FENCE.sub("", text)
    seen, result = {}, set()
    for m in re.finditer(r"^#{1,6}\s+(.*?)\s*$", stripped, re.M):
        anchor = github_anchor(m.group(1))
        n = seen.get(anchor, 0)
        seen[anchor] = n + 1
        result.add(anchor if n == 0 else f"{anchor}-{n}")
    return result


def markdown_links(text):
    """Relative link targets in a Markdown text, outside fenced blocks: (path, anchor)."""
    stripped = FENCE.sub("", text)
    links = []
    for m in re.finditer(r"\]\(([^)\s]+)\)", stripped):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        links.append((path, anchor))
    return links
