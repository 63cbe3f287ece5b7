"""Structured logs: JSON lines with the record's extras, and every kind of secret removed before writing."""

import io
import json
import logging

from infra.logs import JsonFormatter, RedactingFilter

TOKEN = "gl_0123456789abcdef_Zx-9_aQwErTy12345678901234"
SECRET = "s3cret-signing-key-of-forty-characters-x"


def logged(message: str, *args: object, **extra: object) -> dict:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("api"))
    handler.addFilter(RedactingFilter([SECRET]))
    logger = logging.getLogger(f"test.logs.{id(out)}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise ValueError(f"failed with {TOKEN}")
    except ValueError:
        logger.error(message, *args, exc_info=True, extra=extra)
    line = out.getvalue()
    assert line.count("\n") == 1
    return json.loads(line)


def test_a_record_is_one_json_object_with_its_extras():
    entry = logged("plan %s stored", "p-1", district_code="760", stops=12)
    assert entry["message"] == "plan p-1 stored" and entry["service"] == "api" and entry["level"] == "ERROR"
    assert entry["district_code"] == "760" and entry["stops"] == 12 and entry["time"].endswith("+00:00")
    assert "ValueError" in entry["exception"]


def test_secrets_are_removed_from_messages_arguments_extras_and_tracebacks():
    entry = logged("GET %s Authorization: Bearer %s, key %s, db %s", f"/sheet?lang=vi&token={TOKEN}&x=1",
                   "someone-elses-token", SECRET, "postgresql+psycopg://greenlane:pa55word@db:5432/greenlane",
                   url=f"/api/v1/alerts/stream?token={TOKEN}", headers=f"[(b'authorization', b'Bearer {TOKEN}')]")
    text = json.dumps(entry)
    for secret in (TOKEN, "Zx-9_aQwErTy", "someone-elses-token", SECRET, "pa55word"):
        assert secret not in text
    assert "token=[redacted]&x=1" in entry["message"] and "greenlane:[redacted]@db:5432" in entry["message"]
    assert entry["url"] == "/api/v1/alerts/stream?token=[redacted]"
