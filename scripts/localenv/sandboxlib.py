"""Shared plumbing for the local sandbox: state, ports, processes, HTTP, logs.

Standard library only (the sandbox must run on a fresh Debian 12 with nothing
but python3).  Nothing here knows about ClickHouse or ZooKeeper; those live in
clickhouse.py / zookeeper.py and the orchestration in ../sandbox.

Process bookkeeping
-------------------
Every server we start is recorded as a *process record*:

    {"pid": 1234, "start_time": 987654, "cmdline": ["clickhouse-server", ...]}

``start_time`` is field 22 of /proc/PID/stat (clock ticks since boot).  Before
signalling a PID we check that /proc/PID/cmdline and the start time still
match the record, so a recycled PID (the sandbox crashed, the machine has been
busy for days) is never killed by mistake.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterable

LOCALENV_DIR = Path(__file__).resolve().parent
REPO_ROOT = LOCALENV_DIR.parent.parent

# A file with this name marks a directory as a sandbox state dir.  `down` and
# `up` only ever delete a directory carrying it, so a mistyped --state-dir can
# never wipe something else.
STATE_MARKER = ".luminate-sandbox"
STATE_FILE = "sandbox.json"

LOOPBACK = "127.0.0.1"


# Set when `up` is interrupted (Ctrl-C, SIGTERM) or a component failed: the
# start-up threads stop spawning and waiting, so cleanup sees every process.
CANCEL = threading.Event()


class Cancelled(Exception):
    pass


class SandboxError(Exception):
    """A component failed.  ``component`` names it, ``log`` points at its log."""

    def __init__(self, component: str, message: str, log: str | Path | None = None):
        super().__init__(message)
        self.component = component
        self.message = message
        self.log = str(log) if log else None


# --------------------------------------------------------------------------
# output


def info(msg: str) -> None:
    """Progress line on stderr (stdout is reserved for `env` / --json)."""
    print(f"sandbox: {msg}", file=sys.stderr, flush=True)


def tail(path: str | Path | None, lines: int = 20) -> str:
    """Last ``lines`` lines of a (possibly large, possibly missing) text file."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").rstrip("\n")
    return "\n".join(text.splitlines()[-lines:])


def indent(text: str, prefix: str = "    | ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


# --------------------------------------------------------------------------
# state dir


def default_state_dir() -> Path:
    env = os.environ.get("LUMINATECTL_SANDBOX_DIR")
    return Path(env) if env else REPO_ROOT / ".sandbox"


def is_state_dir(path: Path) -> bool:
    return (path / STATE_MARKER).exists()


def load_state(state_dir: Path) -> dict | None:
    try:
        with open(state_dir / STATE_FILE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def write_private(path: Path, content: str) -> None:
    """Write a secret: the file is created 0600 (never world-readable, even briefly)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(content)
    os.chmod(path, 0o600)


def remove_state_dir(state_dir: Path) -> None:
    if not state_dir.exists():
        return
    if not is_state_dir(state_dir):
        raise RuntimeError(f"refusing to delete {state_dir}: it has no {STATE_MARKER} marker")
    shutil.rmtree(state_dir)


# --------------------------------------------------------------------------
# ports


def ephemeral_port_range() -> tuple[int, int]:
    """The kernel's range for the local ports of outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def pick_free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1, outside the ephemeral range.

    Why not bind(0): the kernel picks those from the ephemeral range, which
    is also where the local ports of every outgoing connection come from (our
    own readiness polls included).  A port that was free when chosen could be
    the local end of some connection a second later, and the server meant to
    listen on it fails with "Address already in use" (seen in the tests).
    Ports below the ephemeral range are only ever taken by explicit binds.

    All candidate sockets stay bound until every port is chosen, so no port is
    handed out twice; a server can still lose a race against an unrelated
    program binding the same port, and `up` then reports it like any other
    start failure.
    """
    lo, hi = ephemeral_port_range()
    if lo - 20000 >= 1000:
        candidates = list(range(20000, lo))
    else:  # unusual ephemeral range: take the ports above it instead
        candidates = list(range(max(hi + 1, 1024), 65536))
    random.shuffle(candidates)
    socks: list[socket.socket] = []
    try:
        for port in candidates:
            if len(socks) == count:
                break
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind((LOOPBACK, port))
            except OSError:
                s.close()
                continue
            socks.append(s)
        while len(socks) < count:  # last resort: let the kernel choose
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def listening_ports() -> set[int]:
    """Every local TCP port in LISTEN state (IPv4 and IPv6), from /proc/net."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == "0A":  # 0A = TCP_LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# processes


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces.
    rest = data[data.rfind(")") + 2:].split()
    return rest  # rest[0] is field 3 (state), rest[19] is field 22 (starttime)


def proc_start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def proc_cmdline(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0")[:-1]]


def proc_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def proc_record(pid: int, fallback_argv: list[str] | None = None) -> dict:
    """What we store about a process to recognise it later."""
    cmd = proc_cmdline(pid)
    return {
        "pid": pid,
        "start_time": proc_start_time(pid),
        "cmdline": cmd if cmd else list(fallback_argv or []),
    }


def is_running(rec: dict | None) -> bool:
    """True if the recorded process still exists, is not a zombie, and is the
    same process (same start time and command line: guards against PID reuse)."""
    if not rec or not rec.get("pid"):
        return False
    pid = rec["pid"]
    fields = _stat_fields(pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    if rec.get("start_time") is not None and int(fields[19]) != rec["start_time"]:
        return False
    cmd = proc_cmdline(pid)
    if rec.get("cmdline") and cmd != rec["cmdline"]:
        return False
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our own child (no zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass


def spawn(component: str, argv: list[str], log_path: Path, cwd: Path | None = None,
          env: dict | None = None) -> subprocess.Popen:
    """Start a server in the background, stdout+stderr appended to ``log_path``.

    start_new_session=True puts it in its own session/process group: a Ctrl-C
    in the terminal running `sandbox up` must not reach the servers (cleanup is
    ours to do), and they must outlive `sandbox up` itself.
    """
    if CANCEL.is_set():
        raise Cancelled()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=str(cwd) if cwd else None, env=env, start_new_session=True,
                close_fds=True,
            )
        except OSError as e:  # binary missing or not executable
            raise SandboxError(component, f"cannot run {argv[0]}: {e.strerror}") from e


def stop_processes(records: Iterable[dict], grace: float = 5.0) -> list[dict]:
    """Stop recorded processes: SIGTERM all at once, wait up to ``grace``
    seconds, SIGKILL whatever is left, then wait for it to disappear.

    Why the escalation: ClickHouse 18.16 needs ~2 s to exit on SIGTERM when idle
    but 7-10 s while a keep-alive HTTP client is still connected; a sandbox has
    no data worth a longer wait.  Returns the records that had to be killed.
    Records that are not running (or whose PID now belongs to another
    program) are skipped: we never signal a process we did not start.
    """
    live = [r for r in records if is_running(r)]
    for r in live:
        try:
            os.kill(r["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        for r in live:
            _reap(r["pid"])
        if not any(is_running(r) for r in live):
            return []
        time.sleep(0.05)
    killed = [r for r in live if is_running(r)]
    for r in killed:
        try:
            os.kill(r["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        for r in killed:
            _reap(r["pid"])
        if not any(is_running(r) for r in killed):
            break
        time.sleep(0.05)
    return killed


def _is_server_cmdline(cmd: list[str]) -> bool:
    """Is this one of the servers the sandbox starts (by executable)?"""
    exe = os.path.basename(cmd[0])
    if exe in ("clickhouse-server", "clickhouse", "java", "prometheus", "prometheus-pushgateway"):
        return True
    # Python servers: the Kubernetes API emulator (`python3 .../kubeemu.py`),
    # the traffic simulator (`python3 .../traffic.py`), the modern ClickHouse
    # front (`python .../chfront.py`), moto's S3 (`python .../bin/moto_server`,
    # a console script).
    return exe.startswith("python") and any(
        os.path.basename(a) in PYTHON_SERVERS for a in cmd[1:])


PYTHON_SERVERS = ("kubeemu.py", "traffic.py", "chfront.py", "moto_server")


def _cwd_inside(pid: int, directory: str) -> bool:
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return cwd == directory or cwd.startswith(directory.rstrip("/") + "/")


def find_orphans(state_dir: Path, known_pids: Iterable[int] = ()) -> list[dict]:
    """Server processes whose command line mentions ``state_dir``, or whose
    working directory is inside it (moto_server's argv names no path), but that
    the state file does not list (e.g. `up` was SIGKILLed between starting a
    server and recording it).  Only server executables are considered, so a
    user's `tail -f .sandbox/logs/...` or shell is never touched."""
    needle = str(state_dir.resolve())
    known = set(known_pids)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid == os.getpid() or pid in known:
            continue
        cmd = proc_cmdline(pid)
        if not cmd or not _is_server_cmdline(cmd):
            continue
        if any(needle in arg for arg in cmd[1:]) or _cwd_inside(pid, needle):
            rec = proc_record(pid)
            if is_running(rec):
                found.append(rec)
    return found


# --------------------------------------------------------------------------
# waiting and HTTP


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05,
               abort: Callable[[], str | None] | None = None) -> bool:
    """Poll ``check`` until it is true or ``timeout`` passes.  ``abort`` may
    return a reason to stop early (typically: the process already exited)."""
    deadline = time.monotonic() + timeout
    while True:
        if CANCEL.is_set():
            raise Cancelled()
        try:
            if check():
                return True
        except Exception:
            pass
        if abort is not None:
            reason = abort()
            if reason:
                raise RuntimeError(reason)
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def http_request(url: str, data: bytes | str | None = None, headers: dict | None = None,
                 timeout: float = 30.0, method: str | None = None) -> tuple[int, str]:
    """(status, body) for a request; HTTP errors are returned, not raised.

    urllib sends `Connection: close`, which matters for ClickHouse: an open
    keep-alive connection slows its SIGTERM shutdown from 2 s to 7-10 s.
    """
    if isinstance(data, str):
        data = data.encode()
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def exited_reason(proc: subprocess.Popen) -> str | None:
    """For wait_until(abort=...): a message once the process has exited."""
    rc = proc.poll()
    if rc is None:
        return None
    if rc < 0:
        return f"process exited on signal {-rc}"
    return f"process exited with status {rc}"
