"""Canonical JSON and the hash chain over events. Pure core, called from any thread.

``canonical_json`` is the one byte form of an event that is hashed, stored in the journal and
published: keys sorted, no spaces (separators ``,`` and ``:``), non-ASCII characters kept as
UTF-8 (``ensure_ascii=False``), encoded as UTF-8. Floats are refused: money is integer minor
units and quantities are strings, so a float in an event is always a bug.

``chain_hash`` links each event to the one before it (per kiosk, in ``seq`` order)::

    hash = sha256( prev_hash (64 ASCII hex chars)
                   + "\\n"
                   + str(seq) (decimal ASCII, no sign, no leading zeros)
                   + "\\n"
                   + canonical body (UTF-8 bytes of the event without its "hash" key) ).hexdigest()

The first event of a kiosk (``seq`` 1) has ``prev_hash`` = ``GENESIS_HASH`` (64 zeros).
Changing any byte of any event, or removing or reordering events, breaks the chain from there.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Final, cast

GENESIS_HASH: Final[str] = "0" * 64

_HASH_RE: Final = re.compile(r"[0-9a-f]{64}")
_MAX_SEQ: Final[int] = 2**63 - 1  # seq is a signed 64-bit SQLite integer


_PLAIN: Final[frozenset[type]] = frozenset({str, int, bool, type(None)})


def _plain(obj: object) -> bool:
    """Fast check (exact built-in types only) that ``obj`` holds nothing to refuse."""
    stack = [obj]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            for key, item in cast(dict[object, object], value).items():
                if type(key) is not str:
                    return False
                if type(item) not in _PLAIN:
                    stack.append(item)
        elif kind is list or kind is tuple:
            items = cast(list[object], value)
            stack.extend(item for item in items if type(item) not in _PLAIN)
        elif kind not in _PLAIN:
            return False
    return True


def _check_value(value: object, path: str) -> None:
    """Refuse anything JSON would encode ambiguously: floats, non-string keys, odd types.

    The slow path, naming where the problem is; ``_plain`` answers the common case first."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        raise TypeError(
            f"canonical JSON refuses the float {value!r} at {path}: "
            "money is integer minor units and quantities are strings"
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"canonical JSON needs string keys, got {key!r} at {path}")
            _check_value(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]")
        return
    raise TypeError(f"canonical JSON cannot encode {type(value).__name__} at {path}")


def canonical_json(obj: object) -> bytes:
    """The canonical UTF-8 bytes of ``obj`` (dicts, lists, str, int, bool, None only)."""
    if not _plain(obj):
        _check_value(obj, "$")
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def is_hash(value: object) -> bool:
    """True for a 64-character lowercase hex string (a sha256 digest as text)."""
    return isinstance(value, str) and _HASH_RE.fullmatch(value) is not None


def check_seq(seq: object) -> int:
    """``seq`` as an int, or ValueError: a positive 64-bit integer (bool is not a seq)."""
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise ValueError(f"seq must be an int, got {type(seq).__name__}")
    if not 1 <= seq <= _MAX_SEQ:
        raise ValueError(f"seq {seq} is outside 1..2**63-1")
    return seq


def chain_hash(prev_hash: str, seq: int, body: bytes) -> str:
    """sha256 hex of ``prev_hash`` + LF + ``seq`` + LF + ``body`` (see the module docstring)."""
    if not is_hash(prev_hash):
        raise ValueError(f"prev_hash must be 64 lowercase hex characters, got {prev_hash!r}")
    check_seq(seq)
    if not isinstance(body, bytes):
        raise TypeError(f"body must be bytes (canonical JSON), got {type(body).__name__}")
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(str(seq).encode("ascii"))
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()
