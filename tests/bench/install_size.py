"""Installed size of each install choice: what ``pip install .`` and each extra add to a fresh
virtualenv's site-packages (README, "Install"). Also runs ``pulumi-migrations apply`` and
``status`` on SQLite from the lean install, to show it works without any extra.

    .venv/bin/python tests/bench/install_size.py [--tools-dir DIR] [--extras ,pulumi,kubernetes]
    .venv/bin/python tests/bench/install_size.py --ref dff0656 --extras ""   # before the split

The checkout (``git ls-files``, or ``git archive REF`` with ``--ref``) is copied into
``--tools-dir`` and installed from there, so the checkout itself gets no ``build/``; each
choice gets its own venv. Sizes are ``du`` of
site-packages minus an empty venv's, in MB of 1000 KiB as du counts them. Needs PyPI (or the
configured index) for the dependencies.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def site_packages_kib(venv: Path) -> int:
    (site,) = venv.glob("lib/python3*/site-packages")
    return int(subprocess.run(["du", "-sk", str(site)], capture_output=True, text=True,
                              check=True).stdout.split()[0])


def make_venv(path: Path, requirement: str | None) -> int:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    if requirement:
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", requirement], check=True)
    return site_packages_kib(path)


def copy_checkout(dest: Path, ref: str | None) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    if ref:
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", ref], cwd=REPO, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return dest
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def check_lean_cli(venv: Path, work: Path) -> None:
    cli = venv / "bin" / "pulumi-migrations"
    args = ["--dir", str(REPO / "examples" / "quickstart" / "migrations"),
            "--url", f"sqlite://{work / 'lean.db'}"]
    (work / "lean.db").unlink(missing_ok=True)
    for command in ("apply", "status"):
        proc = subprocess.run([str(cli), command, *args], capture_output=True, text=True)
        print(f"  lean `pulumi-migrations {command}` on SQLite: exit {proc.returncode}")
        if proc.returncode:
            raise SystemExit(proc.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "bench-install-size")
    parser.add_argument("--extras", default=",pulumi,kubernetes",
                        help="comma-separated extras to measure; empty = no extra")
    parser.add_argument("--ref", help="measure this git commit instead of the working tree")
    ns = parser.parse_args()
    work = ns.tools_dir
    work.mkdir(parents=True, exist_ok=True)
    src = copy_checkout(work / "src", ns.ref)
    empty = make_venv(work / "venv-empty", None)
    print(f"empty venv: {empty / 1000:.1f} MB (subtracted below)")
    for extra in ns.extras.split(","):
        label = f"pip install '.[{extra}]'" if extra else "pip install ."
        venv = work / f"venv-{extra or 'lean'}"
        size = make_venv(venv, f"{src}[{extra}]" if extra else str(src)) - empty
        print(f"{label:32} {size / 1000:6.1f} MB")
        if not extra:
            check_lean_cli(venv, work)


if __name__ == "__main__":
    main()
