"""`make install` of the release binary into a scratch DESTDIR: what a user gets on disk.

The release build keeps its symbols (about 210 MB); the installed copy must be stripped, still run, and come with the
unit and the example configuration.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def section_names(binary: Path) -> set[str]:
    out = subprocess.run(["readelf", "-S", "-W", str(binary)], check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("[") and "]" in line:
            fields = line.split("]", 1)[1].split()
            if fields:
                names.add(fields[0])
    return names


def test_make_install_strips_the_binary(release_bin: Path, tmp_path: Path) -> None:
    assert ".symtab" in section_names(release_bin), "the release build itself keeps its symbol table"
    dest = tmp_path / "dest"
    # `-o release -o deps`: the binary under test is already built; make must not rebuild or install packages.
    run = subprocess.run(
        ["make", "-C", str(REPO_ROOT), "-o", "release", "-o", "deps", "install", f"DESTDIR={dest}", f"RELEASE_BIN={release_bin}"],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    installed = dest / "usr/local/bin/viworks-agent"
    sections = section_names(installed)
    assert ".symtab" not in sections and ".debug_info" not in sections
    assert installed.stat().st_size < release_bin.stat().st_size * 0.8, (installed.stat().st_size, release_bin.stat().st_size)
    assert installed.stat().st_mode & 0o777 == 0o755
    version = subprocess.run([str(installed), "version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.strip(), version.stderr
    assert (dest / "etc/systemd/system/viworks-agent.service").read_text().count("/usr/local/bin/viworks-agent") >= 1
    assert (dest / "etc/viworks-agent/agent.toml").read_text() == (REPO_ROOT / "examples/agent.toml").read_text()
