"""Reading the config file and opening kiosk.db: the start of every ``kiosk`` command.

``read_config(path)`` loads and validates the TOML file (relative paths in it are relative to the
file's folder); ``time_zone``, ``open_store`` and ``member_key`` turn parts of the config into
what the adapters need, with a ``ConfigError`` naming the key when that cannot be done. Called
on the main thread at start-up.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils

from kiosk.config import Config, PathsConfig, parse_config
from kiosk.errors import ConfigError
from kiosk.store import migrate, open_db


def read_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Load and validate a config file. Relative paths in it (``[paths]``, ``*_file`` secrets)
    are relative to the file's own folder."""
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {config_path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("(file)", f"{config_path} is not UTF-8 text (byte {exc.start})") from None
    base = config_path.resolve().parent

    def read_secret(name: str) -> str:
        path = base / name
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise OSError(f"{path} is not UTF-8 text") from None

    try:
        config = parse_config(text, os.environ if env is None else env, read_secret)
    except ConfigError as exc:
        if exc.key != "(file)":
            raise
        raise ConfigError("(file)", f"{config_path}: {exc.problem}") from None
    paths = config.paths
    resolved = PathsConfig(
        **{f.name: str(base / getattr(paths, f.name)) for f in dataclasses.fields(PathsConfig)}
    )
    return dataclasses.replace(config, paths=resolved)


def time_zone(config: Config) -> ZoneInfo:
    try:
        return ZoneInfo(config.store.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "store.time_zone",
            f"{config.store.time_zone!r} is not in the time zone database (install tzdata)",
        ) from None


def open_store(config: Config) -> sqlite_utils.Database:
    """Open kiosk.db (creating it and its folder), bring the schema up to date."""
    db = open_db(config.paths.db)
    migrate(db)
    return db


def member_key(config: Config) -> bytes:
    key = config.members.phone_key
    if not key:
        raise ConfigError(
            "members.phone_key",
            "is needed to look up or import members (set phone_key_file or phone_key_env)",
        )
    return key.encode()
