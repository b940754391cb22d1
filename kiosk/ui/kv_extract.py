"""Babel extractor for Kivy ``.kv`` files: finds ``app.t("...")``, ``t("...")``, ``_("...")``
and ``N_("...")`` with a literal string first argument.

Registered in babel.cfg (``[extractors] kv = kiosk.ui.kv_extract:extract_kv``) and used by
``make i18n`` and the catalog test. kv property values are Python expressions, one logical
line each (a value continued over lines is joined first). No Kivy import; build tool code.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

logger = logging.getLogger(__name__)

# A call of one of the marker functions whose first argument is a string literal.
_CALL = re.compile(
    r"""(?<![\w.])(?:app\.)?(?P<func>t|_|N_)\(\s*(?P<lit>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
)

Extracted = tuple[int, str, str, list[str]]


def extract_kv(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any] | Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Extracted]:
    """Babel's extractor interface: (line number, function, message, comments)."""
    encoding = str(options.get("encoding", "utf-8"))
    text = fileobj.read().decode(encoding)
    yield from extract_text(text)


def extract_text(text: str) -> Iterator[Extracted]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            continue
        for match in _CALL.finditer(line):
            try:
                message = ast.literal_eval(match["lit"])
            except (SyntaxError, ValueError):
                logger.warning("line %d: cannot read the string %s", lineno, match["lit"])
                continue
            if isinstance(message, str) and message:
                yield lineno, match["func"], message, []
