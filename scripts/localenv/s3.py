"""moto as the sandbox's S3 API (backup target of the modern ClickHouse node).

``moto_server`` (moto[server] 5.x from the local environment's venv, see pyvenv.py) serves
the S3 API on 127.0.0.1 in about 1-2 s, keeps everything in memory (a restart empties it) and
accepts any access key and secret, signed requests or not. The sandbox still generates a key
pair and hands it to ClickHouse and luminatectl as the real bucket would need one; the secret
lives only in a 0600 file (never in argv, never printed).

Module shape as zookeeper.py: prepare -> start -> wait_ready, then create_buckets.
"""

from __future__ import annotations

import json
import secrets as pysecrets
import string
import subprocess
from pathlib import Path

import pyvenv
import sandboxlib as lib

BUCKETS = ["luminate-backups-local", "luminate-backups-local-dr"]
REGION = "us-east-1"
COMPONENT = "s3"


def _random(alphabet: str, n: int) -> str:
    return "".join(pysecrets.choice(alphabet) for _ in range(n))


def prepare(base_dir: Path, port: int) -> dict:
    """Write ``base_dir/credentials`` (0600 JSON: access_key_id, secret_access_key); return the plan."""
    base_dir.mkdir(parents=True, exist_ok=True)
    access_key_id = "AKIA" + _random(string.ascii_uppercase + string.digits, 16)
    secret = _random(string.ascii_letters + string.digits, 40)
    secret_file = base_dir / "credentials"
    lib.write_private(secret_file, json.dumps(
        {"access_key_id": access_key_id, "secret_access_key": secret}, indent=2) + "\n")
    return {
        "dir": str(base_dir),
        "port": port,
        "url": f"http://{lib.LOOPBACK}:{port}",
        "log": str(base_dir / "moto.log"),
        "access_key_id": access_key_id,
        "secret_file": str(secret_file),
        "region": REGION,
        "buckets": list(BUCKETS),
    }


def secret(plan: dict) -> str:
    """The secret access key, read back from the 0600 credentials file."""
    return json.loads(Path(plan["secret_file"]).read_text())["secret_access_key"]


def command(plan: dict) -> list[str]:
    return [pyvenv.bin_path("moto_server"), "-H", lib.LOOPBACK, "-p", str(plan["port"])]


def start(plan: dict) -> subprocess.Popen:
    """Spawn moto_server (does not wait; see wait_ready)."""
    try:
        argv = command(plan)
    except RuntimeError as e:   # the venv is not installed
        raise lib.SandboxError(COMPONENT, str(e)) from e
    return lib.spawn(COMPONENT, argv, Path(plan["log"]), cwd=Path(plan["dir"]))


def is_serving(plan: dict) -> bool:
    try:
        status, body = lib.http_request(plan["url"] + "/", timeout=1.0)
    except OSError:
        return False
    return status == 200 and "ListAllMyBucketsResult" in body


def wait_ready(plan: dict, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Return once moto answers ListBuckets; SandboxError("s3", ...) with the log otherwise."""
    try:
        ok = lib.wait_until(lambda: is_serving(plan), timeout, interval=0.1,
                            abort=lambda: lib.exited_reason(proc))
    except RuntimeError as e:
        raise lib.SandboxError(COMPONENT, f"{e}\n{lib.indent(lib.tail(plan['log']))}", plan["log"]) from e
    if not ok:
        raise lib.SandboxError(COMPONENT, f"no S3 answer on {plan['url']} after {timeout:.0f} s",
                               plan["log"])


def create_buckets(plan: dict) -> None:
    """PUT each bucket (unsigned: moto accepts it; us-east-1 needs no location constraint)."""
    for bucket in plan["buckets"]:
        try:
            status, body = lib.http_request(f"{plan['url']}/{bucket}", data=b"", method="PUT", timeout=10)
        except OSError as e:
            raise lib.SandboxError(COMPONENT, f"cannot create bucket {bucket}: {e}", plan["log"]) from e
        if status != 200:
            raise lib.SandboxError(COMPONENT, f"cannot create bucket {bucket}: HTTP {status}: {body[:500]}",
                                   plan["log"])


def list_keys(plan: dict, bucket: str, prefix: str = "") -> list[str]:
    """Object keys under ``prefix`` (ListObjectsV2, every page), for tests and `status`."""
    import urllib.parse
    import xml.etree.ElementTree as ET

    keys: list[str] = []
    token = None
    while True:
        query = {"list-type": "2", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        status, body = lib.http_request(f"{plan['url']}/{bucket}?{urllib.parse.urlencode(query)}", timeout=10)
        if status != 200:
            raise lib.SandboxError(COMPONENT, f"listing {bucket}/{prefix}: HTTP {status}: {body[:500]}",
                                   plan["log"])
        root = ET.fromstring(body)
        ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        keys += [el.text or "" for el in root.iter(f"{ns}Key")]
        if (root.findtext(f"{ns}IsTruncated") or "false").lower() != "true":
            return keys
        token = root.findtext(f"{ns}NextContinuationToken")
