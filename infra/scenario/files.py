"""Scenario files: JSON with a stable layout (fields in model order, one event, batch, point or vehicle per line),
read back with every field checked; `ScenarioError` names the field that is wrong."""

from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from .errors import ScenarioError
from .model import EVENT_TYPES, Event, Scenario
from .validate import validate

WIDTH = 120
ONE_PER_LINE = {"events", "households", "sales_points", "vehicles", "districts", "checkpoints", "coordinates"}


def to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as JSON-ready values, fields in model order."""
    data: dict[str, Any] = {}
    for f in dataclasses.fields(scenario):
        value = getattr(scenario, f.name)
        if f.name == "events":
            data["events"] = [_event_dict(e) for e in value]
        else:
            data[f.name] = _plain(value)
    return data


def dumps(scenario: Scenario) -> str:
    """The file's text: the same scenario always gives the same bytes."""
    return _format(to_dict(scenario), 0, "") + "\n"


def write(scenario: Scenario, path: Path) -> None:
    """Validate, then write."""
    validate(scenario)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(scenario), encoding="utf-8")


def loads(text: str) -> Scenario:
    """Parse and validate; ScenarioError(field path, message) on the first problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError("", f"not valid JSON: {exc}") from exc
    scenario = from_dict(data)
    validate(scenario)
    return scenario


def read(path: Path) -> Scenario:
    return loads(path.read_text(encoding="utf-8"))


def from_dict(data: Any) -> Scenario:
    """Build the dataclasses, checking types and required fields (not yet the references: see `validate`)."""
    if not isinstance(data, dict):
        raise ScenarioError("", "the file must hold a JSON object")
    events = data.get("events")
    if not isinstance(events, list):
        raise ScenarioError("events", "must be a list")
    parsed: list[Event] = []
    for n, raw in enumerate(events):
        path = f"events[{n}]"
        if not isinstance(raw, dict):
            raise ScenarioError(path, "must be an object")
        kind = raw.get("kind")
        if kind not in EVENT_TYPES:
            raise ScenarioError(f"{path}.kind", f"must be one of {sorted(EVENT_TYPES)}, not {kind!r}")
        parsed.append(_build(EVENT_TYPES[kind], {k: v for k, v in raw.items() if k != "kind"}, path))
    rest = {k: v for k, v in data.items() if k != "events"}
    meta = rest.get("meta")
    if isinstance(meta, dict) and meta.get("schema_version", 1) != 1:
        raise ScenarioError("meta.schema_version", f"this version reads schema 1, not {meta['schema_version']!r}")
    scenario: Scenario = _build(Scenario, {**rest, "events": []}, "")
    return dataclasses.replace(scenario, events=parsed)


def _event_dict(event: Event) -> dict[str, Any]:
    data = {"event_id": event.event_id, "day": event.day, "hour": event.hour, "kind": event.kind}
    data.update({f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event)
                 if f.name not in data})
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _format(value: Any, indent: int, key: str) -> str:
    """Compact when it fits the width (or is an element of a one-per-line list), else one member per line."""
    compact = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if not isinstance(value, dict | list) or not value or indent + len(compact) <= WIDTH:
        return compact
    pad = " " * (indent + 2)
    if isinstance(value, list):
        if key in ONE_PER_LINE:
            items = [json.dumps(v, ensure_ascii=False, separators=(", ", ": ")) for v in value]
        else:
            items = [_format(v, indent + 2, "") for v in value]
        return "[\n" + ",\n".join(pad + item for item in items) + "\n" + " " * indent + "]"
    members = [f"{json.dumps(k, ensure_ascii=False)}: {_format(v, indent + 2, k)}" for k, v in value.items()]
    return "{\n" + ",\n".join(pad + m for m in members) + "\n" + " " * indent + "}"


def _build(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ScenarioError(path, "must be an object")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise ScenarioError(_join(path, key), f"unknown field (known: {', '.join(names)})")
    kwargs = {}
    for f in dataclasses.fields(cls):
        where = _join(path, f.name)
        if f.name in data:
            kwargs[f.name] = _value(hints[f.name], data[f.name], where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ScenarioError(where, "is missing")
    return cls(**kwargs)


def _value(tp: Any, value: Any, path: str) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        tp = next(a for a in args if a is not type(None))
        origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path)
    if origin is list:
        if not isinstance(value, list):
            raise ScenarioError(path, "must be a list")
        return [_value(args[0], v, f"{path}[{n}]") for n, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ScenarioError(path, "must be an object")
        return {k: _value(args[1], v, _join(path, k)) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ScenarioError(path, f"must be true or false, not {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(path, f"must be a whole number, not {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(path, f"must be a number, not {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ScenarioError(path, f"must be a string, not {value!r}")
        return value
    raise TypeError(f"{path}: no reader for {tp!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key

