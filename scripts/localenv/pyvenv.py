#!/usr/bin/env python3
"""The local environment's Python virtual environment (chdb-core, moto): test
infrastructure only, never a dependency of luminatectl.

    scripts/localenv/pyvenv.py ensure   create or complete it (pip; about 1 min the first time)
    scripts/localenv/pyvenv.py check    exit 1 unless it is complete
    scripts/localenv/pyvenv.py path     print its directory

It lives outside the work tree, cached between runs on the same machine:
$LUMINATECTL_LOCALENV_VENV, else $XDG_CACHE_HOME/luminatectl/localenv-<hash>
(~/.cache/...), where <hash> is the SHA-256 prefix of requirements.txt, so a
changed pin gets a fresh environment instead of an upgraded one. A marker file,
written after pip succeeded, tells a complete environment from an interrupted
install (which `ensure` removes and redoes).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
MARKER = ".luminatectl-complete"


def requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]


def directory() -> Path:
    explicit = os.environ.get("LUMINATECTL_LOCALENV_VENV")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "luminatectl" / f"localenv-{requirements_hash()}"


def is_complete(path: Path | None = None) -> bool:
    path = path or directory()
    marker = path / MARKER
    return marker.exists() and marker.read_text().strip() == requirements_hash()


def python() -> str:
    """The venv's interpreter; raises with what to run when it is not installed."""
    path = directory()
    if not is_complete(path):
        raise RuntimeError(f"the local environment's Python packages are not installed in {path}: "
                           "run scripts/localenv/pyvenv.py ensure (or scripts/localenv/install-deps)")
    return str(path / "bin" / "python")


def bin_path(name: str) -> str:
    """A console script of the venv (moto_server)."""
    python()  # same error when incomplete
    return str(directory() / "bin" / name)


def ensure(quiet: bool = False) -> int:
    path = directory()
    if is_complete(path):
        if not quiet:
            print(f"venv: {path} is complete", file=sys.stderr)
        return 0
    # Two installs at once (a test run and a demo) must not build into one directory: the second
    # waits for the first, then finds it complete.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install(path, quiet)


def _install(path: Path, quiet: bool) -> int:
    if is_complete(path):
        if not quiet:
            print(f"venv: {path} is complete", file=sys.stderr)
        return 0
    if path.exists():
        print(f"venv: {path} is incomplete (an interrupted install?); recreating it", file=sys.stderr)
        shutil.rmtree(path)
    print(f"venv: installing {', '.join(pinned())} into {path}", file=sys.stderr)
    made = subprocess.run([sys.executable, "-m", "venv", str(path)], cwd="/")
    if made.returncode != 0:
        print("venv: `python3 -m venv` failed; on Debian install python3-venv", file=sys.stderr)
        return 1
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
           "--no-input", "-q", "-r", str(REQUIREMENTS)]
    if subprocess.run(pip, cwd="/").returncode != 0:
        print(f"venv: pip install failed; {path} is left incomplete (`ensure` retries)", file=sys.stderr)
        return 1
    (path / MARKER).write_text(requirements_hash() + "\n")
    print(f"venv: ready in {path}", file=sys.stderr)
    return 0


def pinned() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines())
    return [line for line in lines if line]


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "ensure":
        return ensure()
    if command == "check":
        ok = is_complete()
        if not ok:
            print(f"venv: {directory()} is not complete; run scripts/localenv/pyvenv.py ensure",
                  file=sys.stderr)
        return 0 if ok else 1
    if command == "path":
        print(directory())
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 64 if command not in ("-h", "--help") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
