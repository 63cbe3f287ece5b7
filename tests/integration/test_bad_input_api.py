"""Bad input at the API boundary: schemathesis over every operation of the OpenAPI spec, in process, on the real
PostGIS and Kafka, as the province's coordinator and as a district official: no answer is a 5xx, and every answer
the spec declares matches its schema. Examples are derandomized, so a run repeats the last one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.main import create_app
from services.bootstrap import bootstrap
from services.domain.access import Role

EXAMPLES = 8  # per operation, mode and caller: enough to reach each route's checks, few enough for CI (~20 s)
CALLERS = ((Role.COORDINATOR, "79"), (Role.DISTRICT, "760"))
# The alert stream never ends by itself (a browser's EventSource closes it): an in-process call would never return.
ENDLESS = {("GET", "/api/v1/alerts/stream")}


@pytest.fixture(scope="module")
def api_schema(settings, container, worker):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(bootstrap(settings, producer_name="fuzz")))


def test_every_operation_answers_as_its_spec_says(api_schema, container):  # type: ignore[no-untyped-def]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    failures: dict[str, str] = {}
    for operation in operations:
        if (operation.method.upper(), operation.path) not in ENDLESS:
            # Tokens of their own per operation: the API's per-token submission limit is not what is tested here.
            tokens = [container.tokens.issue(role, scope, datetime.now(UTC), "schemathesis") for role, scope in CALLERS]
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(operation, mode, tokens, failures)
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


def _fuzz(operation: Any, mode: GenerationMode, tokens: list[str], failures: dict[str, str]) -> None:
    """Call the operation with EXAMPLES generated cases per token; note the first failure of each kind."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        for token in tokens:
            try:
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                       checks=[not_a_server_error, response_schema_conformance])
            except Exception as exc:  # every failure is reported, and the run goes on
                failures.setdefault(f"{operation.label} [{mode.value}] {type(exc).__name__}", f"{case!r}\n{exc}")

    try:
        call()
    except Unsatisfiable:  # nothing to break: an operation without parameters or body
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.parametrize("method, path, request_args, field", [
    ("GET", "/api/v1/coverage", {"params": {"zone_id": "z\x00"}}, "zone_id"),
    ("GET", "/api/v1/plans/p%00", {}, "plan_id"),
    ("POST", "/api/v1/deliveries", {"json": {"plan_id": "p\x00", "stop_id": "s", "quantities": {"rice": 1}}},
     "plan_id"),
    ("POST", "/api/v1/demand", {"content": b'{"commune_code": "26740", "households": 1, "people": 2, '
                                           b'"zone_id": "\\ud800"}'}, "zone_id"),
    ("POST", "/api/v1/demand", {"content": b'{"commune_code": "\\ud800", "households": 1, "people": 2}'},
     "commune_code"),
])
def test_text_postgresql_cannot_hold_is_a_422_naming_the_field(client, method, path, request_args, field):
    """Found by the run above: these were 500s (PostgreSQL refused the NUL; the 422 echoing a lone surrogate could not
    be encoded as UTF-8)."""
    headers = {"Content-Type": "application/json"} if "content" in request_args else {}
    answer = client.request(method, path, headers=headers, **request_args)
    assert answer.status_code == 422, answer.text
    assert any(error["loc"][-1] == field for error in answer.json()["detail"]), answer.text


def test_a_csv_line_with_a_carriage_return_inside_is_two_rows(client):
    """Found by the run above: a lone carriage return in a line was a 500 (csv.Error)."""
    answer = client.post("/api/v1/demand/csv", content=b"commune_code,households,people\n99999,1,\r2\n",
                         headers={"Content-Type": "text/csv"})
    assert answer.status_code == 202, answer.text
    assert [(r["row"], r["field"]) for r in answer.json()["rejected"]] == [(2, "people"), (3, "commune_code")]
