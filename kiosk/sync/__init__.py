"""``kiosk sync``: the MQTT agent process (outbox relay, acks, state, config, commands)."""
