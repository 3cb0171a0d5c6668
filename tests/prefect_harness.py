"""A Prefect test server for the whole session, kept quiet and inside a temporary PREFECT_HOME.

tests/conftest.py registers this module as a plugin; ask for ``prefect_server`` where flows run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from phonesys.ops.prefect_env import QUIET_PREFECT


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    home = tempfile.mkdtemp(prefix="phonesys-prefect-home-")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**QUIET_PREFECT, "PREFECT_HOME": home}.items():
            patch.setenv(name, value)
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=120):
            yield
    os.environ.pop("PREFECT_API_URL", None)
