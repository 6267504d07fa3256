#!/usr/bin/env python3
"""ViWorks plugin: NVIDIA GPUs through `nvidia-smi -q -x` (poll mode), standard library only.

Like Telegraf's nvidia_smi input. On each `collect` it runs `nvidia-smi -q -x` (argv, no shell, with a
timeout below the collect's deadline) and reports per GPU, labelled `index` (the GPU's position in
nvidia-smi's output, the same as `nvidia-smi --query-gpu=index`), `uuid` and `name`: temperature, utilisation,
memory, power, clocks, fan speed, P-state and an info sample with the driver version.

It enables itself only where nvidia-smi works:
- nvidia-smi is not in PATH: the plugin sends `disable` ("nvidia-smi not found in PATH") right after the hello;
- the first `nvidia-smi -q -x` fails (exits non-zero, prints something that is not its XML, lists no GPU):
  `disable` with what went wrong;
- a later one fails, or any one times out: that collection is skipped (an empty reply, so no stale value is shown
  as current) with one line on stderr saying why; the plugin keeps running.
A plugin that disabled itself waits for the agent's `shutdown` (it is not restarted; `POST
/api/v1/plugins/nvidia-gpu/enable` or a reload of plugins.d tries again).

Values nvidia-smi cannot give ("N/A", "[N/A]", "[Not Supported]", ...) are left out, never reported as 0.
Protocol: docs/plugin-protocol.md. Try it:  viworks-agent plugin test plugins.d/nvidia-gpu.toml
"""
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

NAME = "nvidia-gpu"
VERSION = "1.0"
PREFIX = "nvidia_gpu_"
MEBIBYTE = 1048576
MEGAHERTZ = 1000000
# A figure followed by its unit, e.g. "143771 MiB", "82.45 W", "33 C", "0 %".
FIGURE = re.compile(r"^(-?[0-9]+(?:\.[0-9]+)?)\s*(\S*)$")
PSTATE = re.compile(r"^P([0-9]{1,2})$")

# (metric suffix, path under <gpu> (alternatives, first present wins), unit in the XML, factor, unit, help)
GAUGES = [
    ("temperature_celsius", ["temperature/gpu_temp"], "C", 1, "celsius", "GPU core temperature."),
    ("memory_temperature_celsius", ["temperature/memory_temp"], "C", 1, "celsius", "GPU memory (HBM) temperature."),
    ("utilization_percent", ["utilization/gpu_util"], "%", 1, "percent", "Time a kernel was running on the GPU in the last sample period."),
    ("memory_utilization_percent", ["utilization/memory_util"], "%", 1, "percent", "Time the GPU memory was being read or written in the last sample period."),
    ("memory_total_bytes", ["fb_memory_usage/total"], "MiB", MEBIBYTE, "bytes", "Total GPU (framebuffer) memory."),
    ("memory_used_bytes", ["fb_memory_usage/used"], "MiB", MEBIBYTE, "bytes", "GPU memory in use."),
    ("memory_free_bytes", ["fb_memory_usage/free"], "MiB", MEBIBYTE, "bytes", "GPU memory free."),
    # Newer drivers (gpu_power_readings): average_power_draw is what `--query-gpu=power.draw` reports; older
    # drivers (power_readings) have power_draw.
    ("power_draw_watts", ["gpu_power_readings/average_power_draw", "gpu_power_readings/power_draw", "power_readings/power_draw",
                          "gpu_power_readings/instant_power_draw"], "W", 1, "watts", "Power drawn by the board."),
    ("power_limit_watts", ["gpu_power_readings/current_power_limit", "power_readings/enforced_power_limit", "power_readings/power_limit"],
     "W", 1, "watts", "Power limit in force."),
    ("clock_sm_hertz", ["clocks/sm_clock"], "MHz", MEGAHERTZ, "hertz", "Current SM (streaming multiprocessor) clock."),
    ("clock_memory_hertz", ["clocks/mem_clock"], "MHz", MEGAHERTZ, "hertz", "Current memory clock."),
    ("clock_graphics_hertz", ["clocks/graphics_clock"], "MHz", MEGAHERTZ, "hertz", "Current graphics clock."),
    ("fan_speed_percent", ["fan_speed"], "%", 1, "percent", "Fan speed (absent on passively cooled GPUs)."),
]


class NvidiaSmiError(Exception):
    """nvidia-smi could not be run or did not give its XML. `transient`: worth trying again next time (a
    timeout: the first call on a host without persistence mode can be slow)."""

    def __init__(self, message, transient=False):
        super().__init__(message)
        self.transient = transient


def figure(text, unit):
    """The number in `text` when it carries `unit` ("143771 MiB" with "MiB" → 143771.0); None for "N/A",
    "[N/A]", "[Not Supported]", an unexpected unit or anything else that is not a figure."""
    match = FIGURE.match((text or "").strip())
    if match is None or match.group(2) != unit:
        return None
    return float(match.group(1))


def pstate(text):
    """"P0" → 0, "P8" → 8; None for anything else ("N/A")."""
    match = PSTATE.match((text or "").strip())
    return int(match.group(1)) if match else None


def number(value):
    """An integral float as an int, so the JSON reads 150754820096 rather than 150754820096.0."""
    return int(value) if value.is_integer() else value


def parse(xml_text):
    """The samples of `nvidia-smi -q -x` output: a list of protocol samples, per GPU in document order.
    Raises NvidiaSmiError when the text is not that XML or lists no GPU."""
    try:
        root = ElementTree.fromstring(xml_text)
    except ElementTree.ParseError as error:
        raise NvidiaSmiError(f"output is not XML ({error})") from None
    if root.tag != "nvidia_smi_log":
        raise NvidiaSmiError(f"output is XML but not nvidia-smi's (root element <{root.tag}>)")
    gpus = root.findall("gpu")
    if not gpus:
        raise NvidiaSmiError("no <gpu> in the output")
    driver = (root.findtext("driver_version") or "").strip()
    samples = []
    for index, gpu in enumerate(gpus):
        labels = {
            "index": str(index),
            "uuid": (gpu.findtext("uuid") or "").strip(),
            "name": (gpu.findtext("product_name") or "").strip(),
        }
        if driver and driver != "N/A":
            samples.append({
                "name": PREFIX + "info", "value": 1, "labels": dict(labels, driver_version=driver),
                "help": "Always 1; the labels name the GPU and its driver version.",
            })
        for suffix, paths, xml_unit, factor, unit, help_text in GAUGES:
            value = None
            for path in paths:
                element = gpu.find(path)
                if element is not None:
                    value = figure(element.text, xml_unit)
                    break
            if value is not None:
                samples.append({"name": PREFIX + suffix, "value": number(value * factor), "unit": unit, "labels": dict(labels), "help": help_text})
        state = pstate(gpu.findtext("performance_state"))
        if state is not None:
            samples.append({
                "name": PREFIX + "pstate", "value": state, "labels": dict(labels),
                "help": "Performance state: 0 (P0, maximum performance) to 15 (P15, minimum).",
            })
    return samples


def run_nvidia_smi(executable, timeout):
    """The stdout of `nvidia-smi -q -x`; raises NvidiaSmiError saying why not."""
    try:
        result = subprocess.run([executable, "-q", "-x"], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NvidiaSmiError(f"{executable} -q -x did not finish within {timeout:g}s", transient=True) from None
    except OSError as error:
        raise NvidiaSmiError(f"cannot run {executable}: {error.strerror or error}") from None
    if result.returncode != 0:
        said = (result.stderr or result.stdout).decode("utf-8", "replace").strip().splitlines()
        detail = f": {said[0][:200]}" if said else ""
        status = f"status {result.returncode}" if result.returncode > 0 else f"signal {-result.returncode}"
        raise NvidiaSmiError(f"{executable} -q -x failed ({status}){detail}")
    return result.stdout.decode("utf-8", "replace")


def send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def messages():
    """The agent's messages, one JSON object per line; stops at end of input."""
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            yield message


def disable(reason, incoming):
    """Asks the agent to switch the plugin off, then waits for its shutdown (exiting at once would look
    like a crash to the agent)."""
    send({"type": "disable", "reason": reason})
    for message in incoming:
        if message.get("type") == "shutdown":
            return


def timeout_for(message, default_ms):
    """nvidia-smi's timeout: 80 % of the collect's deadline, so a slow nvidia-smi is reported by the
    plugin instead of the whole plugin being stopped for a late reply."""
    deadline = message.get("deadline_ms", default_ms)
    if not isinstance(deadline, (int, float)) or deadline <= 0:
        deadline = default_ms
    return max(0.1, deadline / 1000 * 0.8)


def main():
    send({"type": "hello", "protocol": 1, "name": NAME, "version": VERSION})
    incoming = messages()
    executable = shutil.which("nvidia-smi")
    if executable is None:
        disable(f"nvidia-smi not found in PATH ({os.environ.get('PATH', '')}): no NVIDIA driver tools on this host", incoming)
        return
    default_ms = 10000
    worked = False
    for message in incoming:
        kind = message.get("type")
        if kind == "config":
            if isinstance(message.get("timeout_ms"), (int, float)):
                default_ms = message["timeout_ms"]
        elif kind == "collect":
            try:
                samples = parse(run_nvidia_smi(executable, timeout_for(message, default_ms)))
            except NvidiaSmiError as error:
                if not worked and not error.transient:
                    disable(f"{error}; disabled until nvidia-smi works (then enable or reload)", incoming)
                    return
                sys.stderr.write(f"collection skipped: {error}\n")
                sys.stderr.flush()
                samples = []
            else:
                worked = True
            send({"type": "metrics", "id": message.get("id"), "samples": samples})
        elif kind == "shutdown":
            return


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
