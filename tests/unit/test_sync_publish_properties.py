"""``kiosk.sync.mqtt_properties.PackedProperties``: the agent's PUBLISH properties, packed by
hand, are byte for byte what paho's validated ``Properties`` would send."""

from __future__ import annotations

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.sync.client import PublishOptions
from kiosk.sync.mqtt_properties import PackedProperties, paho_properties

CASES = [
    PublishOptions(user_properties=(("event_id", "0193ab12-aaaa-bbbb"), ("seq", "12345"))),
    PublishOptions(user_properties=(("note", "café ☕"),)),
    PublishOptions(),
    PublishOptions(qos=0, content_type=None),
    PublishOptions(content_type="text/plain"),
    PublishOptions(response_topic="pos/v1/central/res", correlation_data=b"\x00\x01x", retain=True),
    PublishOptions(user_properties=tuple((f"k{i}", "v" * 200) for i in range(3))),
]


@pytest.mark.parametrize("options", CASES)
def test_packed_properties_are_the_bytes_paho_would_send(options: PublishOptions) -> None:
    packed = PackedProperties(options)
    assert isinstance(packed, Properties)  # paho's publish() checks the type
    paho_packed = paho_properties(PacketTypes.PUBLISH, options).pack()  # type: ignore[no-untyped-call]
    assert packed.pack() == paho_packed
    assert str(packed) == str(paho_properties(PacketTypes.PUBLISH, options))


def test_packed_properties_do_not_share_fields_between_messages() -> None:
    first = PackedProperties(PublishOptions(user_properties=(("seq", "1"),)))
    second = PackedProperties(PublishOptions(user_properties=(("seq", "2"),)))
    assert getattr(first, "UserProperty") == [("seq", "1")]  # noqa: B009 - set unvalidated
    assert getattr(second, "UserProperty") == [("seq", "2")]  # noqa: B009
    assert first.pack() != second.pack()


def test_a_property_string_over_65535_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 65535 bytes"):
        PackedProperties(PublishOptions(user_properties=(("k", "x" * 70_000),)))


def test_a_property_block_over_127_bytes_gets_a_two_byte_length() -> None:
    options = PublishOptions(user_properties=(("k", "v" * 300),))
    packed = PackedProperties(options).pack()
    assert packed[0] & 0x80 and len(packed) == 2 + ((packed[0] & 0x7F) | (packed[1] << 7))
