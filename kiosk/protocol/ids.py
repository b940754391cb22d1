"""UUIDv7 identifiers (RFC 9562) built from a given time and given random bytes. Pure core.

The caller (an ``IdSource`` adapter) reads the clock and ``os.urandom``; this module only lays
the bits out, so ids are reproducible in tests::

     0                   1                   2                   3
    |          unix_ts_ms (48 bits)         |ver|  rand_a (12) |var|  rand_b (62 bits)  |

``rand_a`` is the first 12 bits of ``rand``; ``rand_b`` the next 62 bits (74 of the 80 random
bits are used). Ids sort by time to the millisecond.
"""

from __future__ import annotations

from typing import Final

_MAX_MS: Final[int] = 2**48 - 1
RANDOM_BYTES: Final[int] = 10


def uuid7(unix_ms: int, rand: bytes) -> str:
    """The UUIDv7 text (``018f...-7...-8...``, lowercase) for ``unix_ms`` and 10 random bytes."""
    if isinstance(unix_ms, bool) or not isinstance(unix_ms, int):
        raise TypeError(f"unix_ms must be an int of milliseconds, got {type(unix_ms).__name__}")
    if not 0 <= unix_ms <= _MAX_MS:
        raise ValueError(f"unix_ms {unix_ms} does not fit in 48 bits")
    if not isinstance(rand, bytes) or len(rand) != RANDOM_BYTES:
        raise ValueError(f"rand must be exactly {RANDOM_BYTES} bytes")
    bits = int.from_bytes(rand, "big")  # 80 bits
    rand_a = bits >> 68  # top 12 bits
    rand_b = (bits >> 6) & ((1 << 62) - 1)  # next 62 bits
    value = (unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def uuid7_ms(uuid_text: str) -> int:
    """The millisecond timestamp inside a UUIDv7 text (ValueError if it is not one)."""
    hex_digits = uuid_text.replace("-", "")
    if len(hex_digits) != 32 or len(uuid_text) != 36:
        raise ValueError(f"not a UUID: {uuid_text!r}")
    try:
        value = int(hex_digits, 16)
    except ValueError:
        raise ValueError(f"not a UUID: {uuid_text!r}") from None
    if (value >> 76) & 0xF != 7 or (value >> 62) & 0b11 != 0b10:
        raise ValueError(f"not a UUIDv7: {uuid_text!r}")
    return value >> 80
