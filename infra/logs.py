"""Structured logs: one JSON object per line (time, level, service, logger, message, and the record's extras), with
secrets removed before anything is written.

`configure_logging` sets up a process; `logging_config` is the same set-up as a `logging.config.dictConfig`
dictionary, for the libraries that configure logging themselves (uvicorn in each worker process, faust's worker).
The redacting filter sits on the handler, so every record is cleaned, whichever logger it comes from: access-token
strings (`gl_<id>_<secret>`, services/adapters/tokens.py), `token=` query parameters, Authorization headers,
passwords in URLs (`scheme://user:password@host`) and any literal secret given (the signing key). Before it, the
chatty libraries' repeated lines are thinned out (`RepeatLimiter`).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from infra.settings import Settings

REDACTED = "[redacted]"
QUIET = ("kafka", "alembic", "aiokafka", "httpx", "httpcore")  # chatty at INFO: warnings and errors only
QUIET_PREFIXES = tuple(f"{name}." for name in QUIET)
PATTERNS = (
    (re.compile(r"(authorization['\"]?\s*[:=,]\s*(?:b?['\"])?)(?:(?:bearer|basic)\s+)?[^\s'\",)}\]]+", re.IGNORECASE),
     rf"\1{REDACTED}"),  # a header, as text or as ASGI's (b'authorization', b'...')
    (re.compile(r"\b(bearer\s+)[^\s'\",)}\]]+", re.IGNORECASE), rf"\1{REDACTED}"),
    (re.compile(r"([?&;]token=)[^&#\s\"'<>]*", re.IGNORECASE), rf"\1{REDACTED}"),  # ?token= in a URL
    (re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s'\"]+:)[^@\s'\"]+@", re.IGNORECASE), rf"\1{REDACTED}@"),  # URL password
    (re.compile(r"(?<![A-Za-z0-9])gl_[A-Za-z0-9]+_[A-Za-z0-9_-]+"), REDACTED),  # a token, wherever it appears
)
# A LogRecord's own attributes; anything else on a record came in through `extra=` and is logged as a field.
STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "color_message"}  # uvicorn's copy of the message with terminal colours


class Redactor:
    """Removes secrets from text: the patterns above and the literal secrets given."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class RepeatLimiter(logging.Filter):
    """Lets through at most one record per window for each logger, level and message template of the chatty
    libraries (QUIET); the first one after a window says how many were held back. During a Kafka outage aiokafka
    logged the same two errors about 4,000 times a second (130,000 lines in a 15 s restart, tests/faults)."""

    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s, self.clock = window_s, clock
        self.seen: dict[tuple[str, int, str], list[float]] = {}  # key -> [window start, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(QUIET_PREFIXES) and record.name not in QUIET:
            return True
        key, now = (record.name, record.levelno, str(record.msg)), self.clock()
        seen = self.seen.get(key)
        if seen is not None and now - seen[0] < self.window_s:
            seen[1] += 1
            return False
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} [{int(seen[1])} more like this in the last {now - seen[0]:.0f} s]"
        if len(self.seen) > 10_000:
            self.seen.clear()
        self.seen[key] = [now, 0]
        return True


class RedactingFilter(logging.Filter):
    """Cleans each record in place (message with its arguments, exception text, string extras); keeps them all."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.redact = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _, status = record.args  # uvicorn's access line, also as fields
            record.__dict__.update(client=client, method=method, path=path, status=status)
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None  # what is shown of an exception is the cleaned text
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in STANDARD and isinstance(value, str):
                record.__dict__[key] = self.redact(value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "service": self.service, "logger": record.name,
            "message": record.getMessage()}
        entry.update((k, v) for k, v in record.__dict__.items() if k not in STANDARD and k not in entry)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(service: str, level: str, json: bool = True, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The logging set-up of a process as a dictConfig dictionary: one handler on stderr, redacting, JSON lines."""
    formatter = ({"()": f"{__name__}.JsonFormatter", "service": service} if json
                 else {"format": f"%(asctime)s %(levelname)s {service} %(name)s %(message)s"})
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"repeats": {"()": f"{__name__}.RepeatLimiter"},
                    "redact": {"()": f"{__name__}.RedactingFilter", "secrets": list(secrets)}},
        "formatters": {"main": formatter},
        "handlers": {"main": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "main",
                              "filters": ["repeats", "redact"]}},
        # uvicorn's loggers (its access log too) hand their records to this handler instead of their own
        "loggers": {**{name: {"level": "WARNING"} for name in QUIET},
                    **{name: {"handlers": [], "propagate": True} for name in
                       ("uvicorn", "uvicorn.error", "uvicorn.access")}},
        "root": {"level": level.upper(), "handlers": ["main"]},
    }


def configure_logging(service: str, level: str, json: bool = True, secrets: Iterable[str] = ()) -> None:
    """Send every log record of this process (warnings too) through one redacting handler: JSON lines, or text."""
    logging.config.dictConfig(logging_config(service, level, json, secrets))
    logging.captureWarnings(True)


def secrets_of(settings: Settings) -> list[str]:
    """The literal secrets of these settings to redact: the signing key, and the database password unless it is the
    development one (a common word there: 'greenlane' is in topic and database names too)."""
    from infra.settings import DEV_DATABASE_PASSWORD

    password = urlsplit(settings.database_url).password
    return [settings.secret_key, *([password] if password and password != DEV_DATABASE_PASSWORD else [])]
