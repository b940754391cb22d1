"""Reading ``kiosk sync``'s settings from the kiosk's TOML file (main thread, once at start).

``load_settings(path)`` reads the file, validates the kiosk config with
``kiosk.config.parse_config`` (secrets from the environment or credentials files next to the
file, as ``kiosk.app.read_config`` does) and builds ``SyncSettings`` from it and the raw
``[sync]`` table. Relative paths (``[paths]``, ``sync.tls_*_file``) are relative to the file's
folder.

``kiosk.config`` keeps ``[sync]`` as a raw table; its keys are validated here, by
``SyncSettings.from_config``.
"""

from __future__ import annotations

import dataclasses
import os
import re
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
    """The typed kiosk config and its raw ``[sync]`` table (``{}`` when absent)."""

    def read_secret(name: str) -> str:
        secret = base / name
        try:
            return secret.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise OSError(f"{secret} is not UTF-8 text") from None

    config = parse_config(text, env, read_secret)
    return config, config.sync
