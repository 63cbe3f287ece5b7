"""The JSON wire envelope of every event, and strict decoding that names the faulty field."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from .domain import events
from .domain.errors import DomainError, InvalidValue, UnknownReference
from .domain.geo import MultiPolygon

MAX_MESSAGE_BYTES = 1_000_000
# Text and numbers the projections can hold: text by field name (the columns of services/adapters/tables.py, the
# limits of api/schemas.py), any other text to DEFAULT_TEXT; integers to PostgreSQL's, a report's counts to what the
# API allows one report (by path: coverage totals of a district may well be larger). A longer id or a larger count
# failed the projection's write again and again, and the topic stalled behind it.
TEXT_LIMITS = {"event_id": 128, "zone_id": 64, "point_id": 64, "vehicle_id": 64, "plan_id": 160, "stop_id": 200,
               "commune_code": 8, "district_code": 8, "item_code": 40, "product": 120, "name": 200, "contact": 200,
               "place": 200, "failed_reason": 300}
DEFAULT_TEXT = 300
INT_LIMITS = {"report.households": 200_000, "report.people": 1_000_000}
MAX_INT = 2**31 - 1  # PostgreSQL integer

EVENT_TYPES: dict[str, type[events.Event]] = {
    cls.event_type: cls
    for cls in (events.DemandSubmitted, events.StockReported, events.ZoneDeclared, events.ZoneRedrawn,
                events.ZoneLifted, events.DeliveryPlanned, events.DeliveryConfirmed, events.PriceReported,
                events.ProduceOffered, events.AreaCoverage, events.ShortageAlert, events.PriceAlert,
                events.PlanRequested, events.SalesPointRegistered)
}


class MessageError(ValueError):
    """A message that cannot be accepted; `field` names where, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def encode(event: events.Event, producer: str = "greenlane") -> bytes:
    """The envelope of an event as UTF-8 JSON."""
    envelope = {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "occurred_at": event.occurred_at.isoformat(),
        "producer": producer,
        "payload": _to_json(event, skip={"event_id", "occurred_at"}),
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def decode(raw: bytes | None) -> events.Event:
    """The event inside an envelope; MessageError when anything is wrong with it."""
    if raw is None:
        raise MessageError("value", "message has no value")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageError("value", f"message of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        envelope = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError("value", f"not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise MessageError("value", "envelope must be a JSON object")
    kind = envelope.get("event_type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise MessageError("event_type", f"unknown event type {kind!r}")
    version = envelope.get("schema_version")
    if version != cls.schema_version:
        raise MessageError("schema_version", f"{version!r} is not supported for {kind} "
                                             f"(expected {cls.schema_version})")
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        raise MessageError("payload", "must be a JSON object")
    fields = {**payload, "event_id": envelope.get("event_id"), "occurred_at": envelope.get("occurred_at")}
    return typing.cast(events.Event, _from_json(cls, fields, ""))


def _to_json(value: Any, skip: set[str] | None = None) -> Any:
    if isinstance(value, MultiPolygon):
        return value.to_geojson()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in (skip or set())}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {(k.value if isinstance(k, Enum) else k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


Converter = typing.Callable[[Any, str], Any]


def _from_json(tp: Any, value: Any, path: str) -> Any:
    """Convert JSON `value` to type `tp`, raising MessageError naming `path`."""
    return _converter(tp)(value, path)


@functools.cache
def _converter(tp: Any) -> Converter:
    """A function converting JSON to `tp`, built once per type: type hints are read here, not per message."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        convert_inner = _converter(inner)
        return lambda value, path: None if value is None else convert_inner(value, path)
    if tp is MultiPolygon:
        return _multipolygon
    if dataclasses.is_dataclass(tp):
        return _dataclass_converter(typing.cast(type, tp))
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        key_tp, val_tp = args or (str, Any)
        convert_key, convert_value = _converter(key_tp), _converter(val_tp)

        def mapping(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                raise MessageError(path, "must be an object")
            return {convert_key(k, f"{path}.{k}"): convert_value(v, f"{path}.{k}") for k, v in value.items()}

        return mapping
    if origin is tuple or origin is list:
        convert_item, as_tuple = _converter(args[0]), origin is tuple

        def sequence(value: Any, path: str) -> Any:
            if not isinstance(value, list):
                raise MessageError(path, "must be a list")
            items = [convert_item(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return tuple(items) if as_tuple else items

        return sequence
    return lambda value, path: _scalar(tp, value, path)


def _multipolygon(value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise MessageError(path, "must be a GeoJSON geometry")
    boundary: MultiPolygon = _checked(lambda: MultiPolygon.from_geojson(value), path)
    if not all(-180 <= lon <= 180 and -90 <= lat <= 90  # False for NaN, which json.loads accepts
               for polygon in boundary.polygons for ring in polygon for lon, lat in ring):
        raise MessageError(f"{path}.polygon", "positions must be lon/lat numbers (WGS 84)")
    return boundary


def _dataclass_converter(tp: type) -> Converter:
    hints = typing.get_type_hints(tp)
    fields = [(f.name, _converter(hints[f.name]),
               f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
              for f in dataclasses.fields(tp)]

    def convert(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise MessageError(path, "must be an object")
        kwargs = {}
        for name, convert_field, required in fields:
            if name in value:
                kwargs[name] = convert_field(value[name], f"{path}.{name}" if path else name)
            elif required:
                raise MessageError(f"{path}.{name}" if path else name, "is required")
        return _checked(lambda: tp(**kwargs), path)

    return convert


def _scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is str:
        if not isinstance(value, str):
            raise MessageError(path, "must be a string")
        return _storable(value, path)
    if tp is Any:
        return value
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in tp)
            raise MessageError(path, f"{value!r} is not one of {allowed}") from None
    if tp is datetime:
        if not isinstance(value, str):
            raise MessageError(path, "must be an ISO 8601 date-time string")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise MessageError(path, f"{value!r} is not an ISO 8601 date-time") from None
        if parsed.tzinfo is None:
            raise MessageError(path, "must carry a time zone")
        return parsed
    if tp is bool:
        if not isinstance(value, bool):
            raise MessageError(path, "must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise MessageError(path, "must be an integer")
        limit = INT_LIMITS.get(path, MAX_INT)
        if abs(value) > limit:
            raise MessageError(path, f"{value} is beyond {limit}")
        return value
    if tp is float:
        # NaN and ±Infinity (which json.loads accepts) would fail PostgreSQL's JSON columns over and over.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise MessageError(path, "must be a finite number")
        return float(value)
    raise MessageError(path, f"unsupported type {tp!r}")


def _storable(value: str, path: str) -> str:
    """Text PostgreSQL can hold: a NUL character (or a lone surrogate, which UTF-8 cannot encode) would fail the
    projection's write again and again, holding up the topic behind it."""
    limit = TEXT_LIMITS.get(path.rsplit(".", 1)[-1], DEFAULT_TEXT)
    if len(value) > limit:
        raise MessageError(path, f"longer than {limit} characters")
    if "\x00" in value:
        raise MessageError(path, "must not contain NUL (U+0000) characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise MessageError(path, "must be valid Unicode text (no lone surrogates)") from None
    return value


def _checked(build: typing.Callable[[], Any], path: str) -> Any:
    try:
        return build()
    except (InvalidValue, UnknownReference) as exc:
        raise MessageError(f"{path}.{exc.field}" if path else exc.field, str(exc)) from None
    except DomainError as exc:
        raise MessageError(path or "payload", str(exc)) from None
