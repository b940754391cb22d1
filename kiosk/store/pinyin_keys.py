"""Pinyin search keys of Chinese product names, so a Latin-only keyboard finds 牛奶 by ``niunai``
or ``nn``.

Keys are computed when products are written to kiosk.db (the catalog import, and once by the
schema 9 migration for a catalog imported before it) and stored in ``products.pinyin``, one
key per line: for each Chinese name (``name_zh*``) that holds a Han character, its initials
(``nn``) and its full pinyin (``niunai``). Both are lower-case ASCII without tones, spaces or
punctuation; Latin letters and digits of the name are kept in both (``Coca-Cola 可口可乐
330ml`` -> ``cocacolakekoukele330ml`` and ``cocacolakkkl330ml``). ü is written ``v`` (``lv``
for 绿), as Chinese keyboards type it. A name without Han characters has no keys (its own text
already matches).

Readings are pypinyin's default ones (its phrase dictionary picks the reading of a 多音字 in
common words: 银行 ``yinhang``, 长城 ``changcheng``); other readings of a heteronym are not
keys. Initials are the first letter of each syllable (``zh``/``ch``/``sh`` are ``z``/``c``/``s``).

pypinyin's dictionaries take about 55 MiB, so it is imported only inside ``name_keys`` (the
catalog import's thread, ``kiosk catalog import``): searching (``pinyin_query``, lane thread)
never loads it. The migration (at start, on the caller's thread) computes keys in a child
process (``KeyWorker``) so the kiosk process that migrates never loads it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import sqlite3
import subprocess
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import IO, Final

logger = logging.getLogger(__name__)

PINYIN_FTS: Final[str] = "products_pinyin_fts"
CHUNK: Final[int] = 2000
CLOSE_TIMEOUT_S: Final[float] = 5.0
ANSWER_TIMEOUT_S: Final[float] = 120.0  # one batch of CHUNK names takes well under 1 s
# Han characters: 〇, extension A, unified ideographs, compatibility ideographs, extensions B-H.
_HAN_RUNS: Final = re.compile(
    "([\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af]+)"
)
_U_UMLAUT: Final = str.maketrans(dict.fromkeys("üǖǘǚǜ", "v"))
_SEPARATORS: Final = frozenset("'\u2019")
_WORKER_CODE: Final[str] = "from kiosk.store.pinyin_keys import serve; serve()"


def is_han(char: str) -> bool:
    """Whether ``char`` is a Chinese (Han) character."""
    return _HAN_RUNS.fullmatch(char) is not None


def _folded(text: str) -> tuple[str, bool]:
    """``text`` lower-cased, ü as v, tone marks and other accents removed, only ASCII letters
    and digits kept; and whether a letter or digit outside ASCII was dropped."""
    kept: list[str] = []
    foreign = False
    for char in unicodedata.normalize("NFKD", text.lower().translate(_U_UMLAUT)):
        if char.isascii():
            if char.isalnum():
                kept.append(char)
        elif char.isalnum():
            foreign = True
    return "".join(kept), foreign


def fold(text: str) -> str:
    """``text`` as the keys write it: lower-case ASCII letters and digits only, no tones."""
    return _folded(text)[0]


def _is_mark(char: str) -> bool:
    return unicodedata.category(char) == "Mn"  # a combining tone mark typed on its own


def pinyin_query(query: str) -> str:
    """The text a typed query is looked for in the pinyin keys (spaces, syllable apostrophes,
    tone marks and case ignored: ``"Niú nǎi"`` -> ``"niunai"``); empty when the query cannot be
    pinyin: it has no Latin letter, or a Chinese or other non-Latin letter, or a symbol other
    than a space or an apostrophe (``"a*b"``, ``"100%"``). Needs no pypinyin."""
    if not all(c.isalnum() or c.isspace() or c in _SEPARATORS or _is_mark(c) for c in query):
        return ""
    folded, foreign = _folded(query)
    if foreign or not any(char.isalpha() for char in folded):
        return ""
    return folded


@lru_cache(maxsize=1 << 14)
def _han_run(run: str) -> tuple[str, str]:
    """Full pinyin and initials of a run of Han characters (pypinyin's default readings)."""
    from pypinyin import Style, lazy_pinyin  # lazily: ~55 MiB of dictionaries

    syllables = [fold(s) for s in lazy_pinyin(run, style=Style.NORMAL, errors="ignore")]
    syllables = [s for s in syllables if s]
    return "".join(syllables), "".join(s[0] for s in syllables)


def name_keys(name: str) -> tuple[str, ...]:
    """The full pinyin and the initials of ``name``; none when it has no Han character."""
    parts = _HAN_RUNS.split(name)  # odd indexes: the runs of Han characters
    if len(parts) == 1:
        return ()
    full: list[str] = []
    initials: list[str] = []
    for index, part in enumerate(parts):
        if index % 2:
            whole, first = _han_run(part)
        else:
            whole = first = fold(part)
        full.append(whole)
        initials.append(first)
    keys = ("".join(full), "".join(initials))
    return tuple(k for i, k in enumerate(keys) if k and k not in keys[:i])


def pinyin_keys(names: Mapping[str, str]) -> str:
    """``products.pinyin`` for a product's names (language -> name): the keys of its Chinese
    names (language ``zh``, ``zh_CN``, ``zh_TW``...), one per line, each name's initials before
    its full pinyin (search ranks a match in the first line higher); empty when there are none."""
    lines: list[str] = []
    for language, name in sorted(names.items()):
        if language == "zh" or language.startswith("zh_"):
            lines += [key for key in reversed(name_keys(name)) if key not in lines]
    return "\n".join(lines)


# -- the child process that computes keys for the migration --------------------------------------
def serve(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> None:
    """The worker's loop: each input line is a JSON list of names objects, each output line the
    JSON list of their ``pinyin_keys``."""
    source = sys.stdin if stdin is None else stdin
    sink = sys.stdout if stdout is None else stdout
    for line in source:
        batch = json.loads(line)
        sink.write(json.dumps([pinyin_keys(names) for names in batch]) + "\n")
        sink.flush()


class KeyWorkerError(RuntimeError):
    """The key worker could not be started or stopped answering."""


class KeyWorker:
    """A child Python process running ``serve``: pypinyin is loaded there, not here."""

    def __init__(self, command: list[str] | None = None) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        try:
            self._child = subprocess.Popen(
                command or [sys.executable, "-c", _WORKER_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                env=env,
            )
        except OSError as exc:
            raise KeyWorkerError(f"cannot start the pinyin key worker: {exc}") from exc

    def keys(self, batch: list[Mapping[str, str]]) -> list[str]:
        """``pinyin_keys`` of each names mapping in ``batch``, computed by the child."""
        assert self._child.stdin is not None and self._child.stdout is not None
        try:
            self._child.stdin.write(json.dumps(batch, ensure_ascii=False) + "\n")
            self._child.stdin.flush()
            ready, _, _ = select.select([self._child.stdout], [], [], ANSWER_TIMEOUT_S)
            if not ready:
                raise KeyWorkerError(
                    f"the pinyin key worker did not answer in {ANSWER_TIMEOUT_S:.0f} s"
                    f"{self._stderr()}"
                )
            answer = self._child.stdout.readline()
        except OSError as exc:
            raise KeyWorkerError(f"the pinyin key worker stopped: {exc}{self._stderr()}") from exc
        if not answer:
            raise KeyWorkerError(f"the pinyin key worker stopped{self._stderr()}")
        try:
            keys = json.loads(answer)
        except ValueError as exc:
            raise KeyWorkerError(f"the pinyin key worker answered {answer[:80]!r}") from exc
        if not isinstance(keys, list) or len(keys) != len(batch):
            raise KeyWorkerError(f"the pinyin key worker answered {len(batch)} names wrongly")
        return [str(key) for key in keys]

    def _stderr(self) -> str:
        self._child.kill()
        assert self._child.stderr is not None
        lines = self._child.stderr.read().strip().splitlines()
        return f": {lines[-1]}" if lines else ""

    def close(self) -> None:
        """Close its input (it then exits) and wait for it; kill it if it does not exit."""
        for pipe in (self._child.stdin, self._child.stdout, self._child.stderr):
            if pipe is not None:
                pipe.close()
        try:
            self._child.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()


def _chunks(conn: sqlite3.Connection) -> Iterable[list[tuple[int, dict[str, str]]]]:
    """The products with a Chinese name, ``CHUNK`` at a time, by id."""
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, names FROM products WHERE id > ? AND EXISTS (SELECT 1 FROM "
            "json_each(products.names) WHERE key = 'zh' OR key GLOB 'zh_*') ORDER BY id LIMIT ?",
            (last, CHUNK),
        ).fetchall()
        if not rows:
            return
        yield [(int(pid), json.loads(str(names))) for pid, names in rows]
        last = int(rows[-1][0])


def fill_keys(conn: sqlite3.Connection, worker_command: list[str] | None = None) -> int:
    """Compute ``products.pinyin`` for the products already in kiosk.db and index them (the
    schema 9 migration, inside its transaction); returns how many products got keys. When the
    worker fails, the keys stay empty (pinyin search finds those products again after the next
    catalog import) and the error is logged: the kiosk still starts."""
    worker: KeyWorker | None = None
    filled = 0
    try:
        for chunk in _chunks(conn):
            worker = worker or KeyWorker(worker_command)
            keys = worker.keys([names for _, names in chunk])
            updates = [(key, pid) for (pid, _), key in zip(chunk, keys, strict=True) if key]
            conn.executemany("UPDATE products SET pinyin = ? WHERE id = ?", updates)
            filled += len(updates)
    except KeyWorkerError as exc:
        conn.execute("UPDATE products SET pinyin = '' WHERE pinyin != ''")
        logger.error(
            "pinyin search keys of the catalog could not be computed (%s); pinyin search finds "
            "its products after the next catalog import",
            exc,
        )
        filled = 0
    finally:
        if worker is not None:
            worker.close()
    conn.execute(f"INSERT INTO {PINYIN_FTS} ({PINYIN_FTS}) VALUES ('rebuild')")
    return filled
