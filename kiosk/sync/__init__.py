"""``kiosk sync``: the MQTT agent process (outbox relay, acks, state, telemetry, commands).

A process of its own (``python -m kiosk.sync --config FILE``) with its own kiosk.db connection,
so a broker outage or an MQTT library fault can never freeze checkout. One thread does
everything; docs/mqtt-contract.md is the contract it keeps.

    settings.py     SyncSettings from the kiosk config and its [sync] table
    config_file.py  reading them from the TOML file
    client.py       the paho-mqtt wrapper (the only module importing paho)
    backoff.py      exponential backoff with jitter
    relay.py        the outbox relay: seq order, bounded window, PUBACK reason codes
    acks.py         consumer groups' acks into kiosk.db
    state.py        birth, Will, clean-stop offline, telemetry
    commands.py     ping, resend, rotate_fleet_key; signed or plain; audit; answers
    signing.py      EdDSA JWT verification, fleet keys and their rotation
    fleet_config.py signed config documents on cfg/desired: apply, report
    ports.py        what the agent needs from kiosk.db (kiosk.store.outbox implements it)
    agent.py        SyncAgent and run_sync, tying them together
"""
