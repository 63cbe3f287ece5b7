"""The one error a scenario file raises: where (a field path such as `events[12].point_id`) and what is wrong."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario is malformed or inconsistent; `path` names the field, `message` says why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
