"""Errors the domain raises; each names what is wrong so callers can report it."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken."""


class InvalidValue(DomainError):
    """A value is out of range or malformed; `field` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownReference(DomainError):
    """An event or command refers to something the system does not know."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: unknown {field} {value!r}")
        self.field = field
        self.value = value
