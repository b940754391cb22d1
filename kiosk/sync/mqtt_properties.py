"""MQTT v5 PUBLISH properties for ``kiosk.sync.client``, packed once per message by us.

paho's ``Properties`` validates every field on each assignment and rebuilds its name tables per
object (about 100 µs a message, a fifth of the agent's CPU in a drain). ``PackedProperties``
is a ``Properties`` whose ``pack()`` returns bytes built here, byte for byte what paho would
write (``tests/unit/test_sync_publish_properties.py`` compares them). ``paho_properties``
builds paho's own, validated object (used for the Will, once per connect). Pure functions,
called on the sync agent's thread.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

if TYPE_CHECKING:
    from kiosk.sync.client import PublishOptions


def paho_properties(packet_type: int, options: PublishOptions) -> Properties:
    """paho's own (validated) properties: for the Will, built once per connect."""
    props = Properties(packet_type)  # type: ignore[no-untyped-call]
    for name, value in _fields(options):
        setattr(props, name, value)
    return props


def _fields(options: PublishOptions) -> list[tuple[str, Any]]:
    """The MQTT v5 properties of ``options``, in paho's packing order."""
    fields: list[tuple[str, Any]] = []
    if options.content_type is not None:
        fields += [("PayloadFormatIndicator", 1), ("ContentType", options.content_type)]
    if options.response_topic is not None:
        fields.append(("ResponseTopic", options.response_topic))
    if options.correlation_data is not None:
        fields.append(("CorrelationData", options.correlation_data))
    if options.user_properties:
        fields.append(("UserProperty", list(options.user_properties)))
    return fields


class PackedProperties(Properties):
    """PUBLISH properties serialised by us: paho's ``Properties`` re-validates every field on
    each assignment and rebuilds its name tables per object (about 100 µs a message, a fifth
    of the agent's CPU). paho only checks the type and calls ``pack()``; the fields are also
    set (unvalidated: ``PublishOptions`` holds only valid ones) so ``str()`` still shows them.
    """

    _template: Properties | None = None

    def __init__(self, options: PublishOptions) -> None:  # no super().__init__: see above
        template = PackedProperties._template
        if template is None:
            template = PackedProperties._template = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        self.__dict__.update(template.__dict__)  # the shared, read-only name tables
        fields = _fields(options)
        for name, value in fields:
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_packed", _pack(fields))

    def pack(self) -> bytes:
        packed: bytes = self.__dict__["_packed"]
        return packed


def _utf8(text: str | bytes) -> bytes:
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError(f"an MQTT property string is at most 65535 bytes, not {len(data)}")
    return len(data).to_bytes(2, "big") + data


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


@functools.lru_cache(maxsize=64)
def _pack_one(name: str, value: Any) -> bytes:
    if name == "PayloadFormatIndicator":
        return bytes((0x01, int(value)))
    identifier = {"ContentType": 0x03, "ResponseTopic": 0x08, "CorrelationData": 0x09}[name]
    return bytes((identifier,)) + _utf8(value)


def _pack(fields: list[tuple[str, Any]]) -> bytes:
    """MQTT v5 property bytes (length first), as ``Properties.pack`` would write them."""
    parts: list[bytes] = []
    for name, value in fields:
        if name == "UserProperty":
            parts += [b"\x26" + _utf8(k) + _utf8(v) for k, v in value]
        else:
            parts.append(_pack_one(name, value))
    body = b"".join(parts)
    return _varint(len(body)) + body
