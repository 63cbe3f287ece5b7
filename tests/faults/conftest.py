"""Fault tests get a Kafka broker and a PostGIS server of their own, started by the project's scripts on other
ports with their data under .local/faults, so stopping and restarting them disturbs nothing else."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import ROOT

SCRIPTS = ROOT / "infra" / "scripts"


@dataclass(frozen=True)
class FaultServers:
    """The fault suite's own Kafka and PostGIS, which its tests may stop, kill and restart."""

    pg_port: int
    kafka_port: int
    controller_port: int

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "GREENLANE_HOME": str(ROOT / ".local" / "faults"),
                "GREENLANE_PG_PORT": str(self.pg_port), "GREENLANE_KAFKA_PORT": str(self.kafka_port),
                "GREENLANE_KAFKA_CONTROLLER_PORT": str(self.controller_port)}

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def database_url(self, name: str = "greenlane_test") -> str:
        return f"postgresql+psycopg://greenlane:greenlane@127.0.0.1:{self.pg_port}/{name}"

    def run(self, script: str, *args: str) -> None:
        """Run one of infra/scripts/*.sh against these servers; fail the test with its output if it fails."""
        result = subprocess.run(["bash", str(SCRIPTS / script), *args], env=self.env, capture_output=True,
                                text=True, timeout=300)
        if result.returncode != 0:
            pytest.fail(f"{script} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def fault_servers() -> Iterator[FaultServers]:
    """Start (installing if needed) the fault suite's servers; stop them at the end of the session. Their ports lie
    below Linux's ephemeral range (32768-60999): while a broker is down, its clients keep connecting, and a port
    in that range can meanwhile be taken as some connection's local port, so the broker could not bind it again."""
    servers = FaultServers(pg_port=int(os.environ.get("GREENLANE_FAULTS_PG_PORT", "25532")),
                           kafka_port=int(os.environ.get("GREENLANE_FAULTS_KAFKA_PORT", "29192")),
                           controller_port=int(os.environ.get("GREENLANE_FAULTS_KAFKA_CONTROLLER_PORT", "29193")))
    servers.run("up.sh")
    yield servers
    servers.run("down.sh")
