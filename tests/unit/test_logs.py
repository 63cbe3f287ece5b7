"""Structured logs: JSON lines with the record's extras, and every kind of secret removed before writing."""

import io
import json
import logging

from infra.logs import JsonFormatter, RedactingFilter, RepeatLimiter

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


def _record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_chatty_library_repeating_itself_is_thinned_out_and_says_how_much():
    now = [0.0]
    limiter = RepeatLimiter(window_s=10.0, clock=lambda: now[0])
    unable = "Unable connect to node with id %s: %s"
    passed = []
    for step in range(4_000):  # 4,000 a second for 25 s, as aiokafka during a Kafka restart
        now[0] = step / 160
        record = _record("aiokafka", unable, 1, "Connect call failed")
        if limiter.filter(record):
            passed.append((now[0], record.getMessage()))
    assert [t for t, _ in passed] == [0.0, 10.0, 20.0]
    assert passed[0][1] == "Unable connect to node with id 1: Connect call failed"
    assert passed[1][1].endswith("[1599 more like this in the last 10 s]")
    # another message, level or logger is another line; our own loggers are never thinned out
    assert limiter.filter(_record("aiokafka", "Unable to update metadata from %s", [1]))
    assert limiter.filter(_record("aiokafka", unable, 1, "x", level=logging.WARNING))
    assert limiter.filter(_record("aiokafka.consumer.fetcher", unable, 1, "x"))
    assert all(limiter.filter(_record("greenlane.streams", "dead-letter %s", n)) for n in range(100))
    assert not limiter.filter(_record("aiokafka", unable, 2, "Connect call failed"))
