"""Prometheus Pushgateway (Debian's `prometheus-pushgateway` 1.5.1) for the sandbox.

Where luminatectl's backup CronJobs report `luminate_backup_last_success_timestamp_seconds`
(manifests/base/data-protection/cronjobs.yaml, LUMINATECTL_PUSHGATEWAY_URL). The sandbox's
Prometheus scrapes it with `honor_labels: true`, so a pushed `job` label survives the scrape,
as in production (see prometheus.write_config).

Started by hand like every sandbox server: bound to 127.0.0.1 on a free port, its
persistence file in the state dir (never /var/lib/prometheus), stopped by PID.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import sandboxlib as lib

BINARY = "/usr/bin/prometheus-pushgateway"
# Pushed groups are written to the persistence file at most this often (and on shutdown).
PERSISTENCE_INTERVAL = "30s"


def prepare(base_dir: Path, port: int) -> dict:
    """Create ``base_dir``; return the plan (nothing to configure beyond flags)."""
    base_dir.mkdir(parents=True, exist_ok=True)
    return {
        "dir": str(base_dir),
        "port": port,
        "url": f"http://{lib.LOOPBACK}:{port}",
        "log": str(base_dir / "pushgateway.log"),
        "persistence_file": str(base_dir / "pushgateway.data"),
    }


def command(plan: dict) -> list[str]:
    return [
        BINARY,
        f"--web.listen-address={lib.LOOPBACK}:{plan['port']}",
        f"--persistence.file={plan['persistence_file']}",
        f"--persistence.interval={PERSISTENCE_INTERVAL}",
        # Tests clear pushed groups with DELETE /metrics/job/...: that needs no admin API;
        # PUT /api/v1/admin/wipe does, and is handy for resetting the sandbox.
        "--web.enable-admin-api",
    ]


def start(plan: dict) -> subprocess.Popen:
    """Spawn the Pushgateway (does not wait; see wait_ready)."""
    if not Path(BINARY).exists():
        raise lib.SandboxError("pushgateway", f"{BINARY} is missing: install the Debian package "
                                              "prometheus-pushgateway (scripts/localenv/install-deps)")
    return lib.spawn("pushgateway", command(plan), Path(plan["log"]), cwd=Path(plan["dir"]))


def is_ready(port: int, timeout: float = 1.0) -> bool:
    status, _ = lib.http_request(f"http://{lib.LOOPBACK}:{port}/-/ready", timeout=timeout)
    return status == 200


def wait_ready(plan: dict, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Return once /-/ready answers 200; SandboxError if it exits or times out."""
    try:
        ok = lib.wait_until(lambda: is_ready(plan["port"]), timeout,
                            abort=lambda: lib.exited_reason(proc))
    except RuntimeError as e:
        raise lib.SandboxError("pushgateway", str(e), plan["log"])
    if not ok:
        raise lib.SandboxError("pushgateway", f"no answer on {plan['url']}/-/ready after "
                                              f"{timeout:.0f} s", plan["log"])
