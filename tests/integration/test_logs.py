"""Logs and secrets on real processes: the API's log is JSON lines without a token, the signing secret or the
database password in it; the entry points refuse the published defaults outside development."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from infra.processes import api_server
from infra.settings import ROOT
from services.adapters.tokens import TokenStore
from services.domain.access import Role
from tests.conftest import free_port


def test_the_api_log_is_json_lines_without_secrets(settings, container, tmp_path):
    secret = f"log-test-secret-{uuid.uuid4().hex}"
    mine = settings.model_copy(update={"api_port": free_port(), "secret_key": secret, "environment": "test",
                                       "log_format": "json", "log_level": "INFO"})
    tokens = TokenStore(container.engine, secret)  # the process signs with `secret`
    now = datetime.now(UTC)
    coordinator = tokens.issue(Role.COORDINATOR, "79", now, "log test")
    volunteer = tokens.issue(Role.DRIVER, "truck-logs", now, "volunteer link")
    guesses = [f"gl_{uuid.uuid4().hex[:16]}_{uuid.uuid4().hex}", f"not-a-token-{uuid.uuid4().hex}"]
    log = tmp_path / "api.log"
    server = api_server(mine, log)
    base = f"http://{mine.api_host}:{mine.api_port}"
    try:
        calls = [
            httpx.get(f"{base}/api/v1/coverage", headers={"Authorization": f"Bearer {coordinator}"}),
            httpx.get(f"{base}/api/v1/coverage", params={"token": coordinator}),
            httpx.get(f"{base}/api/v1/plans/nowhere/vehicles/truck-logs/sheet", params={"token": volunteer}),
            httpx.post(f"{base}/api/v1/demand", headers={"Authorization": f"Bearer {coordinator}"},
                       json={"commune_code": "26734", "households": 1, "people": 0}),
            httpx.get(f"{base}/api/v1/coverage", headers={"Authorization": f"Bearer {guesses[0]}"}),
            httpx.get(f"{base}/api/v1/alerts/stream", params={"token": guesses[1]}),
            httpx.get(f"{base}/api/v1/coverage", params={"token": secret}),  # the secret pasted as a token
            httpx.get(f"{base}/api/v1/coverage", headers={"Authorization": f"Basic {secret}"}),
        ]
        assert [c.status_code for c in calls] == [200, 200, 404, 422, 401, 401, 401, 401]
    finally:
        server.stop()
    text = log.read_text()
    entries = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "service", "logger", "message"} <= set(e) and e["service"] == "api"
               for e in entries)
    access = [e for e in entries if e["logger"] == "uvicorn.access" and e["path"].startswith("/api/v1/")]
    assert len(access) == len(calls)  # each request is in the log, so what is not there was removed
    assert sum("token=[redacted]" in e["path"] for e in access) == 4
    for leak in (coordinator, volunteer, *guesses, secret, coordinator.split("_", 2)[2]):
        assert leak not in text
    password = urlsplit(mine.database_url).password
    assert f":{password}@" not in text and ":[redacted]@" in text  # the start-up line names the database


def test_the_entry_points_refuse_the_published_defaults_outside_development(tmp_path):
    ports = {"GREENLANE_API_PORT": free_port(), "GREENLANE_STREAMS_WEB_PORT": free_port(),
             "GREENLANE_OPTIMIZER_METRICS_PORT": free_port()}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GREENLANE_")}
    clean.update({k: str(v) for k, v in ports.items()}, PYTHONPATH=str(ROOT))
    cases = [("production", {}, ("GREENLANE_SECRET_KEY", "GREENLANE_DATABASE_URL")),
             ("test", {}, ("GREENLANE_SECRET_KEY",)),
             ("production", {"GREENLANE_SECRET_KEY": uuid.uuid4().hex * 2}, ("GREENLANE_DATABASE_URL",))]
    for command in ("api", "streams", "optimizer"):
        for environment, extra, named in cases:
            # in a directory of its own: no .env file is read
            done = subprocess.run([sys.executable, "-m", "infra.cli", command], cwd=tmp_path, capture_output=True,
                                  text=True, timeout=60, env={**clean, **extra, "GREENLANE_ENVIRONMENT": environment})
            assert done.returncode != 0, (command, environment, done.stdout, done.stderr)
            assert all(name in done.stderr for name in named), (command, environment, done.stderr)
            assert "Traceback" not in done.stderr
            refused = {"GREENLANE_SECRET_KEY", "GREENLANE_DATABASE_URL"} - set(named)
            assert not any(f"\n  {name}" in done.stderr for name in refused), done.stderr
    for port in ports.values():  # nothing was started
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
