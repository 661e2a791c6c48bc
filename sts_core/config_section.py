"""Reading one section of the config document strictly: types, ranges, unknown keys.

Every error is a `ConfigError` naming the full key (``profiles.upload.actions[0]``),
so a bad config fails at cold start saying exactly what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

from .env_overrides import overridden

# user:password@ in a URL: redacted from every configuration message.
_URL_CREDENTIALS = re.compile(r"(?<=//)[^/@\s]*@")


class ConfigError(Exception):
    """A configuration problem, naming the key. Credentials in a quoted URL are
    redacted: the message reaches the startup log and every request's log line."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {_URL_CREDENTIALS.sub('***@', problem)}")
        self.key = key


class Section:
    """One mapping of the document, remembering its key path for error messages."""

    def __init__(self, data: Any, path: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(path or "(top level)", "must be a mapping")
        self.data = dict(data)
        self.path = path
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name: str, default: Any = None) -> Any:
        self.used.add(name)
        value = self.data.get(name, default)
        return default if value is None else value

    def section(self, name: str) -> Section:
        return Section(self.raw(name), self.key(name))

    def string(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self.raw(name, default)
        if value is not None and not isinstance(value, str):
            raise ConfigError(self.key(name), "must be a string")
        return value

    def overridden(self, name: str, env: Mapping[str, str]) -> Optional[str]:
        """The file's string (always read, so it is never 'unknown'), or the
        environment variable that overrides it (env_overrides.OVERRIDES)."""
        in_file = self.string(name)
        path = (*self.path.split("."), name) if self.path else (name,)
        return overridden(path, in_file, env)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.optional_integer(name, low, high)
        return default if value is None else value

    def optional_integer(self, name: str, low: int, high: int) -> Optional[int]:
        value = self.raw(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(self.key(name), "must be an integer")
        if not low <= value <= high:
            raise ConfigError(self.key(name), f"must be between {low} and {high}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self.raw(name, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(self.key(name), "must be a number")
        if not low <= value <= high:
            raise ConfigError(self.key(name), f"must be between {low} and {high}")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise ConfigError(self.key(name), "must be true or false")
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.raw(name, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.key(name), "must be a list of strings")
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(str(k) for k in self.data if k not in self.used)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key (check the spelling)")
