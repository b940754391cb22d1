"""Reading ``kiosk sync``'s settings from the kiosk's TOML file (main thread, once at start).

``load_settings(path)`` reads the file, validates the kiosk config with
``kiosk.config.parse_config`` (secrets from the environment or credentials files next to the
file, as ``kiosk.app.read_config`` does) and builds ``SyncSettings`` from it and the raw
``[sync]`` table. Relative paths (``[paths]``, ``sync.tls_*_file``) are relative to the file's
folder.

``kiosk.config`` does not know a ``[sync]`` table yet: when ``parse_config`` refuses the key
``sync``, the file is parsed again without that table, and the result is checked to be exactly
the file's other tables, so nothing else can be lost on the way.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from kiosk.config import Config, PathsConfig, parse_config
from kiosk.errors import ConfigError
from kiosk.sync.settings import SyncSettings

_HEADER: Final = re.compile(r"^\s*\[")
_SYNC_HEADER: Final = re.compile(r"^\s*\[\[?\s*sync\s*(\.[^\]]*)?\]\]?\s*(#.*)?$")


def load_settings(
    path: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> SyncSettings:
    """``SyncSettings`` from the kiosk config file at ``path``; raises ``ConfigError``."""
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {config_path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("(file)", f"{config_path} is not UTF-8 text (byte {exc.start})") from None
    base = config_path.resolve().parent
    config, table = parse_with_sync(text, os.environ if env is None else env, base)
    paths = config.paths
    resolved = PathsConfig(
        **{f.name: str(base / getattr(paths, f.name)) for f in dataclasses.fields(PathsConfig)}
    )
    config = dataclasses.replace(config, paths=resolved)
    return SyncSettings.from_config(config, table, base_dir=base)


def parse_with_sync(
    text: str, env: Mapping[str, str], base: Path
) -> tuple[Config, Mapping[str, Any]]:
    """The typed kiosk config and the raw ``[sync]`` table (``{}`` when absent)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", f"not valid TOML: {exc}") from None
    table = data.get("sync", {})
    if not isinstance(table, dict):
        raise ConfigError("sync", f"must be a table, got {type(table).__name__}")

    def read_secret(name: str) -> str:
        secret = base / name
        try:
            return secret.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise OSError(f"{secret} is not UTF-8 text") from None

    try:
        return parse_config(text, env, read_secret), table
    except ConfigError as exc:
        if exc.key != "sync":
            raise
    rest = _without_sync_table(text)
    expected = {k: v for k, v in data.items() if k != "sync"}
    try:
        same = tomllib.loads(rest) == expected
    except tomllib.TOMLDecodeError:
        same = False
    if not same:
        raise ConfigError("sync", "write it as its own [sync] table (not inline or dotted keys)")
    return parse_config(rest, env, read_secret), table


def _without_sync_table(text: str) -> str:
    """``text`` without the ``[sync]`` table and its sub-tables."""
    kept: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if _HEADER.match(line):
            skipping = bool(_SYNC_HEADER.match(line))
        if not skipping:
            kept.append(line)
    return "".join(kept)
