"""`viworks-agent capture`: the host files the collectors read, two samples a second apart, in a .tar.gz that
`collect --root` replays."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from conftest import fixture_host_args, fixture_host_dir, run_cli

TOP = "viworks-capture"


def capture(tmp_path: Path, *args: str) -> tuple[Path, list[str]]:
    tmp_path.mkdir(exist_ok=True)
    archive = tmp_path / "capture.tar.gz"
    result = run_cli("capture", "--out", str(archive), *args, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"wrote {archive}" in result.stderr
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "x", filter="data")
    # Nothing is left beside the archive (the working directory is removed).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["capture.tar.gz", "x"]
    return tmp_path / "x" / TOP, names


def replay(top: Path) -> list[dict]:
    result = run_cli("collect", "--json", "--root", str(top / "sample-1"), "--root", str(top / "sample-2"))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    return lines


def figures(document: dict) -> dict:
    """What a capture must reproduce exactly: the CPU count, the memory total, the filesystems and their sizes, the
    host's identity."""
    info = document["system_info"]
    return {
        "cores": info["cpu"]["cores"],
        "memory_total": info["memory"]["total_bytes"],
        "filesystems": [(fs["device"], fs["mount_point"], fs["fs_type"], fs["total_bytes"]) for fs in info["disks"]],
        "hostname": info["system"]["hostname"],
        "machine_id": info["system"]["machine_id"],
        "kernel": info["system"]["kernel_version"],
        "interfaces": sorted(i["name"] for i in info["network"]["details"]),
    }


def live_figures() -> dict:
    result = run_cli("collect", "--json", "--window", "0.05")
    assert result.returncode == 0, result.stderr
    return figures(json.loads(result.stdout))


def test_a_capture_of_this_host_replays_as_a_live_collection(tmp_path):
    # Mounts and interfaces of this machine can change while the test runs (other tests start and stop dockerd and its
    # containers): the replay must have every one present both just before and just after the capture, with its size.
    before = live_figures()
    top, names = capture(tmp_path)
    after = live_figures()
    assert before["cores"] > 0 and before["memory_total"] > 0 and before["filesystems"]
    assert all(name == TOP or name.startswith(TOP + "/") for name in names)
    for sample in ("sample-1", "sample-2"):
        for file in ("proc/stat", "proc/meminfo", "proc/uptime", "proc/self/mountinfo", "proc/net/dev", "proc/sys/kernel/hostname"):
            assert f"{TOP}/{sample}/{file}" in names, file
        assert f"{TOP}/{sample}/viworks-capture/statvfs" in names
    assert f"{TOP}/README" in names
    # Without --with-processes: no command line and, ever, no environment.
    assert not [n for n in names if n.endswith("/cmdline") or n.endswith("/environ")]
    # The process table is there (its stat files), so the processes collector replays too.
    assert any(n.startswith(f"{TOP}/sample-1/proc/") and n.endswith("/stat") and n.split("/")[-2].isdigit() for n in names)

    first, second = replay(top)
    for replayed in (figures(first), figures(second)):
        for key in ("cores", "memory_total", "hostname", "machine_id", "kernel"):
            assert replayed[key] == before[key] == after[key], key
        for key in ("filesystems", "interfaces"):
            stable = set(before[key]) & set(after[key])
            assert stable, key
            assert stable <= set(replayed[key]), (key, replayed[key], before[key], after[key])
    # The two samples are a second apart by their own clock: rates come from the second one.
    uptime = [float((top / s / "proc/uptime").read_text().split()[0]) for s in ("sample-1", "sample-2")]
    assert 1.0 <= uptime[1] - uptime[0] < 30
    assert first["system_health"]["cpu_usage_percent"] is None
    assert second["system_health"]["cpu_usage_percent"] is not None


def test_with_processes_the_capture_has_command_lines_but_no_environment(tmp_path):
    _, names = capture(tmp_path, "--with-processes")
    command_lines = [n for n in names if n.endswith("/cmdline")]
    assert command_lines, "no command line captured"
    assert all(n.split("/")[-2].isdigit() for n in command_lines)
    assert not [n for n in names if n.endswith("/environ")]


def without_volatile(document: dict) -> dict:
    """A collection of a fixture tree without what another statvfs of this machine's disk may change."""
    document = json.loads(json.dumps(document))
    del document["timestamp"]
    document["system_health"].pop("disk_usage_percent")
    for fs in document["system_info"]["disks"]:
        for key in ("used_bytes", "available_bytes", "usage_percent", "inodes_free"):
            fs.pop(key)
    return document


def test_every_file_the_collectors_read_is_captured(tmp_path):
    """A capture of the captured test host (read through --proc-root/--sys-root/--rootfs) replays to the same document
    as that host read directly: a file that a collector reads but does not declare would be missing from the capture
    and change the replay."""
    result = run_cli("collect", "--json", "--root", str(fixture_host_dir()))
    assert result.returncode == 0, result.stderr
    direct = json.loads(result.stdout.splitlines()[0])
    top, names = capture(tmp_path, *fixture_host_args(fixture_host_dir()))
    first, _ = replay(top)
    assert without_volatile(first) == without_volatile(direct)
    assert direct["system_info"]["system"]["hostname"] == (fixture_host_dir() / "proc/sys/kernel/hostname").read_text().strip()
    # The fixture's files, and only those the collectors read: its README is not one of them.
    assert f"{TOP}/sample-1/etc/os-release" in names
    assert f"{TOP}/sample-1/README.md" not in names


def test_capture_into_a_missing_directory_fails_with_its_name(tmp_path):
    result = run_cli("capture", "--out", str(tmp_path / "missing" / "capture.tar.gz"))
    assert result.returncode == 1
    assert str(tmp_path / "missing") in result.stderr
