"""Dead-letter records: the reason a message was refused, with the original bytes, so it can be replayed."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

# The record must fit a Kafka message (1 MB by default, for the broker and for the worker's producer), and base64
# grows the original by 4/3: an original longer than this keeps its first MAX_ORIGINAL_BYTES only, and says so.
# Nothing is lost: the source topics keep every message, and the record names its partition and offset.
MAX_ORIGINAL_BYTES = 600_000
MAX_TEXT = 1_000  # a reason or key quoting a huge value is cut too (the original is there)


def dead_letter_record(*, reason: str, field: str, source_topic: str, partition: int, offset: int,
                       key: bytes | None, value: bytes | None) -> bytes:
    """A JSON record describing a refused message; the original is kept byte for byte (base64)."""
    record: dict[str, Any] = {
        "reason": reason[:MAX_TEXT],
        "field": field,
        "source_topic": source_topic,
        "source_partition": partition,
        "source_offset": offset,
        "failed_at": datetime.now(UTC).isoformat(),
        "key": key.decode("utf-8", "replace")[:MAX_TEXT] if key is not None else None,
        "original_b64": base64.b64encode(value[:MAX_ORIGINAL_BYTES]).decode() if value is not None else None,
        "event_id": _event_id(value),
    }
    if value is not None and len(value) > MAX_ORIGINAL_BYTES:
        record.update(original_truncated=True, original_size=len(value))
    return json.dumps(record, ensure_ascii=False).encode()


def original_bytes(record: dict[str, Any]) -> bytes | None:
    """The refused message's bytes, as they arrived."""
    encoded = record.get("original_b64")
    return base64.b64decode(encoded) if encoded is not None else None


def _event_id(value: bytes | None) -> str | None:
    try:
        envelope = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    event_id = envelope.get("event_id") if isinstance(envelope, dict) else None
    return event_id if isinstance(event_id, str) and len(event_id) <= 128 else None
