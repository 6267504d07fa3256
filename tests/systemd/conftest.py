"""Shared helpers of the systemd tests: they run the real `viworks-agent` binary against a real journald and a real
systemd (PID 1 of a Debian 12 container booted with systemd-nspawn).

    make test-systemd                                  # builds what is needed, then runs these tests
    VIWORKS_AGENT_BIN=.build/debug/viworks-agent \
    VIWORKS_AGENT_RELEASE_BIN=$(swift build -c release --static-swift-stdlib --show-bin-path)/viworks-agent \
        python3 -m pytest -q tests/systemd

They need root (mount namespaces, cgroups, nspawn). Without root, or when the Debian mirror cannot be reached to
make the container's root filesystem, they skip with the reason, unless VIWORKS_REQUIRE_SYSTEMD_TESTS=1 (set by
.ci/run), which turns every such skip into a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from systemd_helpers import binary


@pytest.fixture(scope="session")
def agent_bin() -> Path:
    """The debug (or any) build, run on this host."""
    return binary("VIWORKS_AGENT_BIN", ".build/debug/viworks-agent")


@pytest.fixture(scope="session")
def release_bin() -> Path:
    """The release build with the Swift runtime linked in statically: it runs inside a plain Debian root filesystem."""
    return binary("VIWORKS_AGENT_RELEASE_BIN", ".build/release/viworks-agent")
