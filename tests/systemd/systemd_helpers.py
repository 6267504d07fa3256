"""Helpers of the systemd tests (skips, binaries); see conftest.py for how to run them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def required() -> bool:
    return os.environ.get("VIWORKS_REQUIRE_SYSTEMD_TESTS") == "1"


def skip_or_fail(reason: str) -> None:
    if required():
        pytest.fail(f"{reason} (VIWORKS_REQUIRE_SYSTEMD_TESTS=1: this must run here)")
    pytest.skip(reason)


def require_root_and_tools(*tools: str) -> None:
    if os.geteuid() != 0:
        skip_or_fail("needs root (mount namespaces, cgroups, systemd-nspawn)")
    missing = [tool for tool in tools if shutil.which(tool) is None and not Path(tool).exists()]
    if missing:
        skip_or_fail(f"missing {', '.join(missing)} (run `make deps`)")


def binary(variable: str, default: str) -> Path:
    configured = os.environ.get(variable)
    path = Path(configured) if configured else REPO_ROOT / default
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.exists():
        pytest.fail(f"{path} does not exist: build it first (see tests/systemd/conftest.py) or set {variable}")
    return path
