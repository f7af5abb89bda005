#!/usr/bin/env python3
"""A local Prometheus serving the deterministic luminate fixture data.

Layout under STATE_DIR/prometheus/:
    fixtures.om        OpenMetrics input for promtool (generated)
    scenarios.json     scenario description + expected values (generated)
    data/              TSDB (blocks backfilled by promtool, then Prometheus' own files)
    fixtures.sha256    sha256 of fixtures.om that data/ was backfilled from
    prometheus.yml     config written by start()
    prometheus.log     stdout+stderr of the running Prometheus
    prometheus.pid     pid of the Prometheus started by start()

Library (used by scripts/sandbox):
    prepare(state_dir, force=False) -> dict          generate + backfill, paths
    start(state_dir, port, rules_file=None, pushgateway_port=None, traffic_port=None) -> Popen
                                                      returns once /-/ready
    stop(proc)                                        SIGTERM, 5 s grace, SIGKILL

CLI:
    prometheus.py prepare STATE_DIR [--force]
    prometheus.py start STATE_DIR --port PORT [--rules-file F] [--pushgateway-port P]
                        [--traffic-port P] [--foreground]
    prometheus.py stop STATE_DIR

The data lies in the past (2026-11-20) and is never refreshed: query it with
an explicit time= (see SCENARIOS.md); at "now" every selector is empty because
the newest sample is far older than the 5 minute lookback (unless a live
target is scraped: the traffic simulator, the Pushgateway).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promfixtures  # noqa: E402

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_GRACE = 5.0
# How often the Pushgateway is scraped: a pushed metric is queryable within ~2 s.
PUSHGATEWAY_SCRAPE_INTERVAL = "2s"
# The traffic simulator (traffic.py) is scraped as job "luminate", every second,
# so a 1m rate() has 60 samples and follows a rollout within seconds.
TRAFFIC_JOB = "luminate"
TRAFFIC_SCRAPE_INTERVAL = "1s"


class PrometheusError(RuntimeError):
    pass


def _binary(name: str) -> str:
    env = os.environ.get(f"{name.upper()}_BIN")
    path = env or shutil.which(name)
    if not path:
        raise PrometheusError(f"{name} not found on PATH (set {name.upper()}_BIN); "
                              "install the Debian package 'prometheus'")
    return path


def paths(state_dir: str) -> dict[str, str]:
    d = os.path.join(os.path.abspath(state_dir), "prometheus")
    return {
        "dir": d,
        "openmetrics": os.path.join(d, "fixtures.om"),
        "scenarios": os.path.join(d, "scenarios.json"),
        "data_dir": os.path.join(d, "data"),
        "stamp": os.path.join(d, "fixtures.sha256"),
        "config": os.path.join(d, "prometheus.yml"),
        "log": os.path.join(d, "prometheus.log"),
        "pid_file": os.path.join(d, "prometheus.pid"),
    }


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def _has_blocks(data_dir: str) -> bool:
    if not os.path.isdir(data_dir):
        return False
    return any(os.path.isfile(os.path.join(data_dir, e, "meta.json")) for e in os.listdir(data_dir))


def _write_if_changed(path: str, data: bytes) -> None:
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _block_samples(promtool_stdout: str) -> int:
    """Sum of the NUM SAMPLES column of promtool's block table."""
    lines = [ln for ln in promtool_stdout.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("BLOCK ULID"):
        raise PrometheusError(f"unexpected promtool output:\n{promtool_stdout}")
    # columns: ULID, MIN TIME, MAX TIME, DURATION, NUM SAMPLES, NUM CHUNKS, NUM SERIES, SIZE
    return sum(int(ln.split()[-4]) for ln in lines[1:])


def prepare(state_dir: str, force: bool = False) -> dict:
    """Generate the fixtures into STATE_DIR/prometheus and backfill them into
    its data dir.  The backfill is skipped when data/ already holds blocks made
    from identical fixtures (same sha256) unless force=True.  Refuses to touch
    data/ while the Prometheus started by start() is running on it.

    Returns the paths of paths() plus: sha256, series, samples, backfilled
    (bool), promtool_stdout, promtool_stderr, spec (the scenarios dict)."""
    p = paths(state_dir)
    os.makedirs(p["dir"], exist_ok=True)
    om, spec = promfixtures.generate()
    sha = spec["openmetrics_sha256"]
    _write_if_changed(p["openmetrics"], om)
    _write_if_changed(p["scenarios"], promfixtures.spec_json(spec).encode())

    result = {**p, "sha256": sha, "series": spec["series"], "samples": spec["samples"],
              "backfilled": False, "promtool_stdout": "", "promtool_stderr": "", "spec": spec}
    if not force and _read(p["stamp"]) == sha and _has_blocks(p["data_dir"]):
        return result

    pid = _running_pid(p)
    if pid is not None:
        raise PrometheusError(f"Prometheus (pid {pid}) is running on {p['data_dir']}; stop it first")
    if os.path.exists(p["stamp"]):
        os.remove(p["stamp"])
    shutil.rmtree(p["data_dir"], ignore_errors=True)
    os.makedirs(p["data_dir"])
    cmd = [_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", p["openmetrics"], p["data_dir"]]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    result.update(promtool_stdout=proc.stdout, promtool_stderr=proc.stderr, backfilled=True)
    if proc.returncode != 0:
        raise PrometheusError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
    got = _block_samples(proc.stdout)
    if got != spec["samples"]:
        raise PrometheusError(f"promtool wrote {got} samples, the fixtures have {spec['samples']}")
    with open(p["stamp"], "w") as f:
        f.write(sha + "\n")
    return result


def write_config(state_dir: str, rules_file: Optional[str] = None, scrape_self_port: Optional[int] = None,
                 pushgateway_port: Optional[int] = None, traffic_port: Optional[int] = None) -> str:
    """Minimal prometheus.yml: the fixture data is backfilled, so no scrape
    targets by default; optionally scraping Prometheus itself, optionally a
    Pushgateway, optionally loading a rules file.  Rules are evaluated at
    wall-clock time, days after the fixture data.

    The Pushgateway job scrapes every PUSHGATEWAY_SCRAPE_INTERVAL with
    honor_labels: true, as production must (a pushed metric keeps its own
    `job`, e.g. job="luminate-backup", instead of the scrape's).  Those
    samples are live, at wall-clock time, beside the backfilled past; the
    target may come up after Prometheus (failed scrapes only mark it down).

    The traffic simulator's job is "luminate", as the fixtures' (which lie on
    2026-11-20 and carry instance labels of their own): its live series
    are at wall-clock time, so a query at a fixture time never sees them."""
    p = paths(state_dir)
    lines = [
        "# Generated by scripts/localenv/prometheus.py: serves backfilled luminate fixtures",
        "# (2026-11-20, see scripts/localenv/SCENARIOS.md); query with an explicit time=.",
        "global:",
        "  scrape_interval: 15s",
        "  evaluation_interval: 15s",
    ]
    if rules_file:
        rules = os.path.abspath(rules_file)
        if not os.path.isfile(rules):
            raise PrometheusError(f"rules file {rules} does not exist")
        lines += ["rule_files:", f"  - {json.dumps(rules)}"]
    jobs = []
    if scrape_self_port:
        jobs += ["  - job_name: prometheus", "    static_configs:",
                 f"      - targets: [\"{HOST}:{scrape_self_port}\"]"]
    if pushgateway_port:
        jobs += ["  - job_name: pushgateway",
                 f"    scrape_interval: {PUSHGATEWAY_SCRAPE_INTERVAL}",
                 f"    scrape_timeout: {PUSHGATEWAY_SCRAPE_INTERVAL}",
                 "    honor_labels: true",
                 "    static_configs:",
                 f"      - targets: [\"{HOST}:{pushgateway_port}\"]"]
    if traffic_port:
        jobs += [f"  - job_name: {TRAFFIC_JOB}",
                 f"    scrape_interval: {TRAFFIC_SCRAPE_INTERVAL}",
                 f"    scrape_timeout: {TRAFFIC_SCRAPE_INTERVAL}",
                 "    static_configs:",
                 f"      - targets: [\"{HOST}:{traffic_port}\"]"]
    lines += ["scrape_configs:", *jobs] if jobs else ["scrape_configs: []"]
    os.makedirs(p["dir"], exist_ok=True)
    _write_if_changed(p["config"], ("\n".join(lines) + "\n").encode())
    return p["config"]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Go's net.Listen sets SO_REUSEADDR too: TIME_WAIT leftovers are fine.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (chosen by the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _log_tail(path: str, lines: int = 40) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/-/ready", timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(state_dir: str, port: int, rules_file: Optional[str] = None, *, timeout: float = READY_TIMEOUT,
          scrape_self: bool = False, detach: bool = False, extra_args: tuple[str, ...] = (),
          pushgateway_port: Optional[int] = None, traffic_port: Optional[int] = None) -> subprocess.Popen:
    """Start Prometheus on 127.0.0.1:PORT over STATE_DIR's backfilled data and
    return once /-/ready answers 200.  The Popen gets .url, .port, .paths.
    Raises PrometheusError with the log tail if it exits or is not ready in
    `timeout` seconds (the process is stopped first).  detach=True puts it in
    its own session so it survives the caller (used by the CLI).
    pushgateway_port adds a scrape job for a Pushgateway on 127.0.0.1 (see
    write_config); it need not be up yet. So does traffic_port for the traffic
    simulator (job "luminate")."""
    p = paths(state_dir)
    if not _has_blocks(p["data_dir"]):
        raise PrometheusError(f"{p['data_dir']} has no blocks: call prepare({state_dir!r}) first")
    pid = _running_pid(p)
    if pid is not None:
        raise PrometheusError(f"Prometheus (pid {pid}) already runs on {p['data_dir']}")
    if not _port_free(port):
        raise PrometheusError(f"{HOST}:{port} is already in use")
    config = write_config(state_dir, rules_file, port if scrape_self else None, pushgateway_port, traffic_port)
    cmd = [
        _binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={p['data_dir']}",
        f"--web.listen-address={HOST}:{port}",
        # The fixtures are days old: without this the default 15d retention
        # would silently delete them a week from now.
        "--storage.tsdb.retention.time=100y",
        "--web.enable-lifecycle",
        *extra_args,
    ]
    with open(p["log"], "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=detach, close_fds=True)
    proc.url = f"http://{HOST}:{port}"  # type: ignore[attr-defined]
    proc.port = port  # type: ignore[attr-defined]
    proc.paths = p  # type: ignore[attr-defined]
    with open(p["pid_file"], "w") as f:
        f.write(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while True:
        rc = proc.poll()
        if rc is not None:
            _remove_pid_file(p, proc.pid)
            raise PrometheusError(f"prometheus exited with {rc} before becoming ready; log tail:\n"
                                  f"{_log_tail(p['log'])}")
        if _ready(port):
            return proc
        if time.monotonic() > deadline:
            stop(proc)
            raise PrometheusError(f"prometheus not ready after {timeout:.0f}s; log tail:\n{_log_tail(p['log'])}")
        time.sleep(0.1)


def _remove_pid_file(p: dict, pid: int) -> None:
    if _read(p["pid_file"]) == str(pid):
        os.remove(p["pid_file"])


def stop(proc: Optional[subprocess.Popen], grace: float = STOP_GRACE) -> Optional[int]:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL.  Returns the exit
    code (None if proc is None).  Safe to call twice."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    p = getattr(proc, "paths", None)
    if p:
        _remove_pid_file(p, proc.pid)
    return proc.returncode


# -- pid-file based control (CLI) --------------------------------------------

def _running_pid(p: dict) -> Optional[int]:
    """pid from the pid file if that process is alive and is a prometheus on
    this state dir's config (guards against a recycled pid)."""
    txt = _read(p["pid_file"])
    if not txt:
        return None
    try:
        pid = int(txt)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (ValueError, OSError):
        return None
    if state == "Z":
        return None
    if not argv or not os.path.basename(argv[0].decode(errors="replace")).startswith("prometheus"):
        return None
    if f"--config.file={p['config']}".encode() not in argv:
        return None
    return pid


def stop_state_dir(state_dir: str, grace: float = STOP_GRACE) -> bool:
    """Stop the Prometheus recorded in STATE_DIR's pid file (not a child of
    this process).  Returns False if none was running."""
    p = paths(state_dir)
    pid = _running_pid(p)
    if pid is None:
        if os.path.exists(p["pid_file"]):
            os.remove(p["pid_file"])
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _running_pid(p) == pid:
        time.sleep(0.1)
    if _running_pid(p) == pid:
        os.kill(pid, signal.SIGKILL)
        while _running_pid(p) == pid:
            time.sleep(0.05)
    if os.path.exists(p["pid_file"]):
        os.remove(p["pid_file"])
    return True


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Local Prometheus with backfilled luminate fixtures.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare", help="generate the fixtures and backfill them")
    a.add_argument("state_dir")
    a.add_argument("--force", action="store_true", help="backfill again even if up to date")
    a = sub.add_parser("start", help="start Prometheus and wait until it is ready")
    a.add_argument("state_dir")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--rules-file")
    a.add_argument("--scrape-self", action="store_true")
    a.add_argument("--pushgateway-port", type=int, help="also scrape a Pushgateway on 127.0.0.1:PORT")
    a.add_argument("--traffic-port", type=int, help="also scrape the traffic simulator on 127.0.0.1:PORT")
    a.add_argument("--no-prepare", action="store_true", help="do not run prepare first")
    a.add_argument("--foreground", action="store_true", help="keep running until SIGINT/SIGTERM")
    a = sub.add_parser("stop", help="stop the Prometheus started by 'start'")
    a.add_argument("state_dir")
    args = ap.parse_args(argv)

    try:
        if args.cmd == "prepare":
            info = prepare(args.state_dir, force=args.force)
            info.pop("spec")
            print(json.dumps(info, indent=2))
        elif args.cmd == "start":
            if not args.no_prepare:
                prepare(args.state_dir)
            proc = start(args.state_dir, args.port, args.rules_file, scrape_self=args.scrape_self,
                         detach=not args.foreground, pushgateway_port=args.pushgateway_port,
                         traffic_port=args.traffic_port)
            print(json.dumps({"pid": proc.pid, "url": proc.url, "log": proc.paths["log"]}), flush=True)
            if args.foreground:
                def _term(signum, frame):
                    raise KeyboardInterrupt
                signal.signal(signal.SIGTERM, _term)
                try:
                    proc.wait()
                except KeyboardInterrupt:
                    pass
                finally:
                    stop(proc)
        elif args.cmd == "stop":
            print("stopped" if stop_state_dir(args.state_dir) else "not running")
    except PrometheusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
