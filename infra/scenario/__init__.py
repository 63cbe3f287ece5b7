"""Scenarios of Hồ Chí Minh City as editable files: the model, a seeded generator, reading and writing."""

from .errors import ScenarioError
from .files import dumps, loads, read, write
from .generate import generate
from .model import Scenario

__all__ = ["Scenario", "ScenarioError", "dumps", "generate", "loads", "read", "write"]
