"""The NVIDIA GPU plugin (plugins.d/nvidia-gpu.toml, examples/plugins/python/nvidia_gpu.py).

Its parser on the output of a real H200 (fixtures/nvidia-h200/, figures checked by hand against the XML and
cross-checked with the CSV and table captured at the same moment), then the plugin as a real process under
`viworks-agent plugin test` and under a running agent, with a stub `nvidia-smi` on its PATH, none, or a broken one.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from conftest import REPO_ROOT, run_cli, start_agent

FIXTURES = Path(__file__).resolve().parent / "fixtures/nvidia-h200"
CAPTURE = FIXTURES / "nvidia-smi-q.xml"
PLUGIN = REPO_ROOT / "examples/plugins/python/nvidia_gpu.py"
MANIFEST = REPO_ROOT / "plugins.d/nvidia-gpu.toml"

UUID = "GPU-2e9fd0c5-c07f-d751-fc63-7e58c745466a"
GPU0 = {"index": "0", "uuid": UUID, "name": "NVIDIA H200"}
MIB = 1048576

# Read off nvidia-smi-q.xml by hand: <gpu_temp>33 C, <memory_temp>33 C, <gpu_util>0 %, <memory_util>0 %,
# <fb_memory_usage> total 143771 MiB / used 0 MiB / free 143156 MiB, <average_power_draw>82.45 W,
# <current_power_limit>700.00 W, <clocks> sm 345 MHz / mem 3201 MHz / graphics 345 MHz, <fan_speed>N/A,
# <performance_state>P0, <driver_version>580.159.04.
H200 = {
    "nvidia_gpu_temperature_celsius": (33, "celsius"),
    "nvidia_gpu_memory_temperature_celsius": (33, "celsius"),
    "nvidia_gpu_utilization_percent": (0, "percent"),
    "nvidia_gpu_memory_utilization_percent": (0, "percent"),
    "nvidia_gpu_memory_total_bytes": (150754820096, "bytes"),  # 143771 MiB
    "nvidia_gpu_memory_used_bytes": (0, "bytes"),
    "nvidia_gpu_memory_free_bytes": (150109945856, "bytes"),  # 143156 MiB
    "nvidia_gpu_power_draw_watts": (82.45, "watts"),
    "nvidia_gpu_power_limit_watts": (700, "watts"),
    "nvidia_gpu_clock_sm_hertz": (345000000, "hertz"),
    "nvidia_gpu_clock_memory_hertz": (3201000000, "hertz"),
    "nvidia_gpu_clock_graphics_hertz": (345000000, "hertz"),
    "nvidia_gpu_pstate": (0, None),
}


def load_plugin():
    spec = importlib.util.spec_from_file_location("nvidia_gpu", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def plugin():
    return load_plugin()


def by_series(samples):
    """{(name, labels as a sorted tuple): sample}; fails on a duplicate series."""
    table = {}
    for sample in samples:
        key = (sample["name"], tuple(sorted(sample["labels"].items())))
        assert key not in table, f"duplicate series {key}"
        table[key] = sample
    return table


def series(name, labels):
    return (name, tuple(sorted(labels.items())))


# MARK: - The parser on the capture


def test_parser_reads_every_figure_of_the_h200_capture_exactly(plugin):
    samples = plugin.parse(CAPTURE.read_text())
    table = by_series(samples)
    for name, (value, unit) in H200.items():
        sample = table.pop(series(name, GPU0))
        assert sample["value"] == value, name
        assert type(sample["value"]) is type(value), f"{name}: {sample['value']!r}"
        assert sample.get("unit") == unit, name
        assert sample["help"], name
    info = table.pop(series("nvidia_gpu_info", {**GPU0, "driver_version": "580.159.04"}))
    assert info["value"] == 1
    # <fan_speed>N/A</fan_speed>: no fan sample at all, not a 0; nothing else is reported.
    assert table == {}
    assert not any(s["name"] == "nvidia_gpu_fan_speed_percent" for s in samples)
    assert all(re.fullmatch(r"nvidia_gpu_[a-z_]+", s["name"]) for s in samples)
    # What goes on the wire: integral figures as JSON integers.
    wire = json.dumps({"samples": samples})
    assert '"value": 150754820096,' in wire and '"value": 82.45,' in wire


def test_the_capture_agrees_with_the_csv_and_the_table_of_the_same_moment(plugin):
    table = by_series(plugin.parse(CAPTURE.read_text()))
    rows = list(csv.reader((FIXTURES / "nvidia-query.csv").read_text().splitlines(), skipinitialspace=True))
    row = dict(zip(rows[0], rows[1]))
    assert (row["index"], row["name"], row["uuid"]) == (GPU0["index"], GPU0["name"], GPU0["uuid"])
    assert series("nvidia_gpu_info", {**GPU0, "driver_version": row["driver_version"]}) in table

    def value(name):
        return table[series(name, GPU0)]["value"]

    assert value("nvidia_gpu_temperature_celsius") == int(row["temperature.gpu"])
    assert value("nvidia_gpu_utilization_percent") == int(row["utilization.gpu [%]"].rstrip(" %"))
    assert value("nvidia_gpu_memory_utilization_percent") == int(row["utilization.memory [%]"].rstrip(" %"))
    for column, name in (("memory.total [MiB]", "total"), ("memory.used [MiB]", "used"), ("memory.free [MiB]", "free")):
        assert value(f"nvidia_gpu_memory_{name}_bytes") == int(row[column].removesuffix(" MiB")) * MIB
    assert value("nvidia_gpu_power_limit_watts") == float(row["power.limit [W]"].removesuffix(" W"))
    # power.draw is the one-second average, read a moment apart: 82.46 W in the CSV, 82.45 W in the XML.
    assert abs(value("nvidia_gpu_power_draw_watts") - float(row["power.draw [W]"].removesuffix(" W"))) < 0.05
    assert value("nvidia_gpu_clock_sm_hertz") == int(row["clocks.current.sm [MHz]"].removesuffix(" MHz")) * 1000000
    assert value("nvidia_gpu_clock_memory_hertz") == int(row["clocks.current.memory [MHz]"].removesuffix(" MHz")) * 1000000
    assert row["fan.speed [%]"] == "[N/A]"
    assert value("nvidia_gpu_pstate") == int(row["pstate"].removeprefix("P"))
    # The plain table: "| N/A   33C    P0             82W /  700W |       0MiB / 143771MiB |      0%      Default |".
    text = (FIXTURES / "nvidia-smi.txt").read_text()
    assert "Driver Version: 580.159.04" in text
    line = next(line for line in text.splitlines() if "33C" in line)
    fan, temperature, state, draw, limit = re.search(r"\|\s*(\S+)\s+(\d+)C\s+(P\d+)\s+(\d+)W\s*/\s*(\d+)W", line).groups()
    assert (fan, int(temperature), state) == ("N/A", value("nvidia_gpu_temperature_celsius"), "P0")
    assert (int(draw), int(limit)) == (round(value("nvidia_gpu_power_draw_watts")), value("nvidia_gpu_power_limit_watts"))
    used, total = re.search(r"(\d+)MiB\s*/\s*(\d+)MiB", line).groups()
    assert (int(used) * MIB, int(total) * MIB) == (value("nvidia_gpu_memory_used_bytes"), value("nvidia_gpu_memory_total_bytes"))


def multi_gpu_xml() -> str:
    """The capture with a second GPU: another uuid and minor number, 41 C, 87 % busy, 2048 MiB used, a fan at 45 %,
    P2, and a power draw nvidia-smi cannot read ("[Not Supported]")."""
    root = ElementTree.fromstring(CAPTURE.read_text())
    first = root.find("gpu")
    second = ElementTree.fromstring(ElementTree.tostring(first))
    second.set("id", "00000000:00:07.0")
    second.find("uuid").text = "GPU-11111111-2222-3333-4444-555555555555"
    second.find("minor_number").text = "1"
    second.find("temperature/gpu_temp").text = "41 C"
    second.find("utilization/gpu_util").text = "87 %"
    second.find("fb_memory_usage/used").text = "2048 MiB"
    second.find("fan_speed").text = "45 %"
    second.find("performance_state").text = "P2"
    second.find("gpu_power_readings/average_power_draw").text = "[Not Supported]"
    second.find("gpu_power_readings/instant_power_draw").text = "[N/A]"
    root.append(second)
    root.find("attached_gpus").text = "2"
    return ElementTree.tostring(root, encoding="unicode")


def test_several_gpus_are_reported_each_with_its_own_labels(plugin):
    table = by_series(plugin.parse(multi_gpu_xml()))
    gpu1 = {"index": "1", "uuid": "GPU-11111111-2222-3333-4444-555555555555", "name": "NVIDIA H200"}
    for name, (value, _) in H200.items():
        assert table[series(name, GPU0)]["value"] == value, name
    assert table[series("nvidia_gpu_temperature_celsius", gpu1)]["value"] == 41
    assert table[series("nvidia_gpu_utilization_percent", gpu1)]["value"] == 87
    assert table[series("nvidia_gpu_memory_used_bytes", gpu1)]["value"] == 2048 * MIB
    assert table[series("nvidia_gpu_memory_total_bytes", gpu1)]["value"] == 143771 * MIB
    assert table[series("nvidia_gpu_fan_speed_percent", gpu1)]["value"] == 45
    assert series("nvidia_gpu_fan_speed_percent", GPU0) not in table
    assert table[series("nvidia_gpu_pstate", gpu1)]["value"] == 2
    assert table[series("nvidia_gpu_info", {**gpu1, "driver_version": "580.159.04"})]["value"] == 1
    # Neither the average ("[Not Supported]") nor the instant reading ("[N/A]"): no power draw sample, not 0.
    assert series("nvidia_gpu_power_draw_watts", gpu1) not in table
    assert table[series("nvidia_gpu_power_limit_watts", gpu1)]["value"] == 700
    assert len(table) == 2 * len(H200) + 2 + 1 - 1  # both GPUs, two info samples, gpu1's fan, not gpu1's power draw


def test_values_nvidia_smi_cannot_give_are_left_out(plugin):
    for text in ("N/A", "[N/A]", "[Not Supported]", "Not Supported", "[Unknown Error]", "", None, "nan W", "inf W", "12 GiB"):
        assert plugin.figure(text, "W" if text and text.endswith("W") else "MiB") is None, text
    assert plugin.figure(" 82.45 W ", "W") == 82.45
    assert plugin.figure("-8 C", "C") == -8
    assert plugin.pstate("P12") == 12 and plugin.pstate("N/A") is None and plugin.pstate("P") is None
    with pytest.raises(plugin.NvidiaSmiError, match="not XML"):
        plugin.parse("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    with pytest.raises(plugin.NvidiaSmiError, match="no <gpu>"):
        plugin.parse("<nvidia_smi_log><attached_gpus>0</attached_gpus></nvidia_smi_log>")
    with pytest.raises(plugin.NvidiaSmiError, match="not nvidia-smi's"):
        plugin.parse("<html><gpu/></html>")


# MARK: - The plugin as a process


def stub_directory(tmp_path: Path, script: str) -> str:
    """A PATH whose first directory holds only an executable `nvidia-smi` made of `script` (sh); /usr/bin and /bin
    follow for the stub's own tools."""
    directory = tmp_path / "bin"
    directory.mkdir()
    stub = directory / "nvidia-smi"
    stub.write_text("#!/bin/sh\n" + script)
    stub.chmod(0o755)
    return f"{directory}:/usr/bin:/bin"


def printing_capture(tmp_path: Path, xml: Path = CAPTURE) -> str:
    return stub_directory(tmp_path, f'[ "$1 $2" = "-q -x" ] || exit 2\ncat "{xml}"\n')


def manifest_with_path(tmp_path: Path, path: Path | str, name: str = "nvidia-gpu") -> Path:
    """The repository's manifest, with the script's path made absolute and `PATH` set for the plugin."""
    directory = tmp_path / "plugins.d"
    directory.mkdir(exist_ok=True)
    text = MANIFEST.read_text().replace('"../examples/', f'"{REPO_ROOT}/examples/')
    text = text.replace('name = "nvidia-gpu"', f'name = "{name}"')
    assert str(PLUGIN) in text
    manifest = directory / f"{name}.toml"
    manifest.write_text(text + f'\n[env]\nPATH = "{path}"\n')
    return manifest


def plugin_test(manifest: Path, *extra: str):
    return run_cli("plugin", "test", str(manifest), "--interval", "200ms", *extra, timeout=60)


def test_plugin_test_runs_the_plugin_on_a_stub_nvidia_smi_and_prints_its_samples(tmp_path):
    manifest = manifest_with_path(tmp_path, printing_capture(tmp_path))
    result = plugin_test(manifest, "--cycles", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "hello after" in out and "version 1.0" in out
    assert "reply to collect 2" in out
    assert "samples of the last reply, as the agent stores them (14):" in out
    labels = f'index="0",uuid="{UUID}",name="NVIDIA H200",plugin="nvidia-gpu"'
    assert f"  nvidia_gpu_temperature_celsius{{{labels}}} 33  # gauge; GPU core temperature. Unit: celsius.\n" in out
    assert f"  nvidia_gpu_memory_total_bytes{{{labels}}} 150754820096  # gauge; Total GPU (framebuffer) memory. Unit: bytes.\n" in out
    assert f"  nvidia_gpu_power_draw_watts{{{labels}}} 82.45  # gauge; Power drawn by the board. Unit: watts.\n" in out
    assert f"  nvidia_gpu_clock_memory_hertz{{{labels}}} 3201000000  # gauge; Current memory clock. Unit: hertz.\n" in out
    info = f'index="0",uuid="{UUID}",name="NVIDIA H200",driver_version="580.159.04",plugin="nvidia-gpu"'
    assert f"  nvidia_gpu_info{{{info}}} 1  # gauge; Always 1; the labels name the GPU and its driver version.\n" in out
    assert "nvidia_gpu_fan_speed_percent" not in out
    assert out.rstrip().endswith("OK")


def test_without_nvidia_smi_the_plugin_disables_itself_and_plugin_test_says_why(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = plugin_test(manifest_with_path(tmp_path, empty))
    assert result.returncode == 2, result.stdout + result.stderr
    out = result.stdout
    assert f"note disabled at its own request: nvidia-smi not found in PATH ({empty}): no NVIDIA driver tools on this host\n" in out
    assert "FAIL" not in out and "samples of the last" not in out
    assert out.rstrip().endswith("DISABLED: the agent would show this plugin disabled with that reason and not restart it")


@pytest.mark.skipif(
    any(shutil.which("nvidia-smi", path=p) for p in ["/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]),
    reason="this host has nvidia-smi",
)
def test_the_shipped_manifest_disables_itself_on_this_host_without_nvidia_smi():
    result = plugin_test(MANIFEST)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "note disabled at its own request: nvidia-smi not found in PATH (/usr/local/sbin:" in result.stdout


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (
            "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\" >&2\nexit 9\n",
            "-q -x failed (status 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.; disabled until",
        ),
        ("echo 'No devices were found'\n", "output is not XML (syntax error: line 1, column 0); disabled until"),
        ("echo '<nvidia_smi_log><attached_gpus>0</attached_gpus></nvidia_smi_log>'\n", "no <gpu> in the output; disabled until"),
    ],
    ids=["exits-9", "garbage", "no-gpu"],
)
def test_a_broken_nvidia_smi_disables_the_plugin_at_the_first_collection(tmp_path, script, reason):
    result = plugin_test(manifest_with_path(tmp_path, stub_directory(tmp_path, script)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "note disabled at its own request: " in result.stdout
    assert reason in result.stdout
    assert "FAIL" not in result.stdout


def test_a_failure_after_nvidia_smi_worked_skips_that_collection_with_a_stderr_line(tmp_path):
    counter = tmp_path / "calls"
    # Works on the first call, exits 15 with a message on the second, works again on the third.
    stub = stub_directory(
        tmp_path,
        f'n=$(($(cat "{counter}" 2>/dev/null || echo 0) + 1)); echo $n > "{counter}"\n'
        f'if [ $n -eq 2 ]; then echo "Unable to determine the device handle for GPU0000:00:06.0: Unknown Error" >&2; exit 15; fi\n'
        f'cat "{CAPTURE}"\n',
    )
    result = plugin_test(manifest_with_path(tmp_path, stub), "--cycles", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"reply to collect 1 in .*, 14 samples", out)
    assert re.search(r"reply to collect 2 in .*, 0 samples", out)
    assert "stderr: collection skipped: " in out and "-q -x failed (status 15): Unable to determine the device handle" in out
    assert re.search(r"reply to collect 3 in .*, 14 samples", out)
    assert counter.read_text().strip() == "3"


def exposition(text: str) -> dict:
    """{(name, sorted labels): value} of a Prometheus text page."""
    values = {}
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            values[(match.group(1), tuple(sorted(labels.items())))] = float(match.group(3))
    return values


def test_a_running_agent_shows_the_plugin_disabled_without_nvidia_smi_and_collects_with_it(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    manifest_with_path(tmp_path, empty, name="nvidia-gpu")
    manifest = manifest_with_path(tmp_path, printing_capture(tmp_path), name="nvidia-gpu-stub")
    text = manifest.read_text().replace('interval = "30s"', 'interval = "1s"')
    manifest.write_text(text)
    agent = start_agent(tmp_path / "agent", env={"VIWORKS_PLUGINS_DIRECTORY": str(manifest.parent)})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            plugins = {p["name"]: p for p in agent.get_json("/api/v1/plugins")["plugins"]}
            if plugins["nvidia-gpu"]["status"] == "disabled" and plugins["nvidia-gpu-stub"].get("samples", 0) > 0:
                break
            time.sleep(0.1)
        gpu = plugins["nvidia-gpu"]
        assert gpu["status"] == "disabled", gpu
        assert gpu["disabled_reason"] == f"disabled at its own request: nvidia-smi not found in PATH ({empty}): no NVIDIA driver tools on this host"
        exposed = exposition(agent.get("/metrics").body.decode())
        labels = {**GPU0, "plugin": "nvidia-gpu-stub"}
        for name, (value, _) in H200.items():
            assert exposed[series(name, labels)] == value, name
        assert exposed[series("nvidia_gpu_info", {**labels, "driver_version": "580.159.04"})] == 1
        assert not any(key[0].startswith("nvidia_gpu_") and dict(key[1])["plugin"] == "nvidia-gpu" for key in exposed)
        # Disabled means not restarted: still disabled, still no restart, a while later.
        time.sleep(1.5)
        again = agent.get_json("/api/v1/plugins/nvidia-gpu")
        assert again["status"] == "disabled"
        assert again["restarts"] == 0, again
        # An expected outcome on a host without GPUs: logged once, at notice, not as an error.
        logged = [line for line in agent.log_path.read_text().splitlines() if 'msg="plugin disabled: ' in line]
        assert len(logged) == 1 and "level=notice" in logged[0] and "plugin=nvidia-gpu" in logged[0], logged
    finally:
        agent.stop()


# MARK: - `plugin test` prints what the agent stores


def test_plugin_test_prints_the_stored_samples_and_flags_what_metrics_would_leave_out(tmp_path):
    script = tmp_path / "known.sh"
    samples = (
        '{"name":"known_ratio","value":0.25,"unit":"ratio","help":"A quarter.","labels":{"path":"C:\\\\\\\\x \\\\"q\\\\""}},'
        '{"name":"known_total","value":7,"kind":"counter"},'
        '{"name":"known_ratio","value":0.5,"help":"Again.","labels":{"path":"C:\\\\\\\\x \\\\"q\\\\""}}'
    )
    script.write_text(
        "#!/bin/sh\n"
        "printf '%s\\n' '{\"type\":\"hello\",\"protocol\":1}'\n"
        "while IFS= read -r line; do\n"
        '  case "$line" in *\'"collect"\'*) id=${line#*\\"id\\":}; id=${id%%[,\\}]*}\n'
        f"    printf '{{\"type\":\"metrics\",\"id\":%s,\"samples\":[{samples}]}}\\n' \"$id\";;\n"
        "  esac\n"
        "done\n"
    )
    script.chmod(0o755)
    result = run_cli("plugin", "test", str(script), "--interval", "200ms", "--cycles", "1", timeout=30)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "samples of the last reply, as the agent stores them (3):\n"
        '  known_ratio{path="C:\\\\x \\"q\\"",plugin="known.sh"} 0.25  # gauge; A quarter. Unit: ratio.\n'
        '  known_total{plugin="known.sh"} 7  # counter\n'
        '  known_ratio{path="C:\\\\x \\"q\\"",plugin="known.sh"} 0.5  # gauge; Again.\n'
        "FAIL left out of /metrics: known_ratio: duplicate series\n"
    ) in result.stdout
    assert result.stdout.rstrip().endswith("FAIL: 1 problem")
