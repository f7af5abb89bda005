"""Standalone ZooKeeper 3.8 (Debian's `zookeeper` package) for the sandbox.

ClickHouse needs it for ReplicatedMergeTree and ON CLUSTER DDL.  We do not use
Debian's init script or /etc/zookeeper/conf: the server is started by hand as
a plain java process with its own config dir under the state dir, bound to
127.0.0.1 on a free port, and stopped by PID.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import sandboxlib as lib

ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
# zookeeper.jar's manifest Class-Path brings in its other dependencies
# (netty, jackson, slf4j-api, ...); the log4j binding must be added by hand.
CLASSPATH_JARS = [
    ZOOKEEPER_JAR,
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
]
LOG4J_EXAMPLE = Path("/etc/zookeeper/conf_example/log4j.properties")

# Used if the Debian example file is missing: console only; stdout goes to
# the component's log file.
FALLBACK_LOG4J = """\
log4j.rootLogger=${zookeeper.root.logger}
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.Threshold=INFO
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
"""

TICK_MS = 500
# ClickHouse asks for a session timeout; ZooKeeper clamps it to
# [2, 20] x tickTime = [1 s, 10 s].  A killed ClickHouse replica keeps counting
# as "active" until its session expires, so short is better for failure tests.
MAX_SESSION_TIMEOUT_MS = 20 * TICK_MS


def render_config(data_dir: Path, port: int) -> str:
    return "\n".join([
        f"tickTime={TICK_MS}",
        "initLimit=10",
        "syncLimit=5",
        f"dataDir={data_dir}",
        f"clientPort={port}",
        f"clientPortAddress={lib.LOOPBACK}",
        f"maxSessionTimeout={MAX_SESSION_TIMEOUT_MS}",
        # The embedded Jetty admin server would otherwise listen on 0.0.0.0:8080.
        "admin.enableServer=false",
        # Four-letter words used for readiness and `status`.
        "4lw.commands.whitelist=ruok,stat,mntr,srvr",
        # Throwaway data: no fsync per transaction, small preallocated logs,
        # and keep only a few snapshots.
        "forceSync=no",
        "preAllocSize=4096",
        "autopurge.snapRetainCount=3",
        "autopurge.purgeInterval=1",
        "",
    ])


def prepare(comp_dir: Path, port: int) -> dict:
    """Write zoo.cfg and log4j.properties under ``comp_dir``; return the plan."""
    conf = comp_dir / "conf"
    data = comp_dir / "data"
    conf.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    (conf / "zoo.cfg").write_text(render_config(data, port))
    if LOG4J_EXAMPLE.exists():
        shutil.copyfile(LOG4J_EXAMPLE, conf / "log4j.properties")
    else:
        (conf / "log4j.properties").write_text(FALLBACK_LOG4J)
    return {
        "dir": str(comp_dir),
        "config": str(conf / "zoo.cfg"),
        "log": str(comp_dir / "zookeeper.log"),
        "port": port,
    }


def command(plan: dict) -> list[str]:
    conf_dir = str(Path(plan["config"]).parent)
    return [
        "java",
        # ZooKeeper for four ClickHouse nodes needs very little: a small heap
        # and the serial GC keep its RSS around 60-70 MB; C1-only JIT makes
        # the JVM start faster.
        "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Dzookeeper.log.dir=" + plan["dir"],
        "-Dzookeeper.root.logger=INFO,CONSOLE",
        "-Dzookeeper.jmx.log4j.disable=true",
        "-cp", ":".join([conf_dir] + CLASSPATH_JARS),
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        plan["config"],
    ]


def four_letter(port: int, word: str, timeout: float = 1.0) -> str:
    """Send a ZooKeeper four-letter command (there is no `nc` on the machine)."""
    with socket.create_connection((lib.LOOPBACK, port), timeout=timeout) as s:
        s.sendall(word.encode())
        chunks = []
        while True:
            data = s.recv(4096)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace")


def is_serving(port: int) -> bool:
    """`ruok` -> `imok` says the process is up; `srvr` then says "Mode: standalone"
    once the request processors are started (ruok alone can answer slightly
    earlier than the server accepts sessions)."""
    try:
        return four_letter(port, "ruok") == "imok" and "Mode:" in four_letter(port, "srvr")
    except OSError:
        return False


def start(plan: dict) -> subprocess.Popen:
    """Spawn ZooKeeper (does not wait; see wait_ready)."""
    return lib.spawn("zookeeper", command(plan), Path(plan["log"]), cwd=Path(plan["dir"]))


def wait_ready(plan: dict, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Return once ZooKeeper serves requests; SandboxError if it exits or times out."""
    try:
        ok = lib.wait_until(lambda: is_serving(plan["port"]), timeout,
                            abort=lambda: lib.exited_reason(proc))
    except RuntimeError as e:
        raise lib.SandboxError("zookeeper", str(e), plan["log"])
    if not ok:
        raise lib.SandboxError(
            "zookeeper", f"no 'imok' on 127.0.0.1:{plan['port']} after {timeout:.0f} s", plan["log"])
