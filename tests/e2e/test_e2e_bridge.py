"""The store broker bridged to a central broker, end to end, with the production configuration.

Both brokers run provisioning.broker_config's mosquitto.conf, ACLs and password files (as
tests/integration/test_broker_bridge.py does); the store broker's bridge-central.conf forwards
to central's TLS listener. The kiosks (`kiosk sync`, each with its own username and password)
use the store broker; the consumers (their own identities) and the database are at central.
The bridge is cut by stopping the central broker, as a WAN outage would, while the kiosks sell
on; once it is back nothing is lost and nothing is applied twice.
"""

from __future__ import annotations

import queue
import time
from pathlib import Path

from provisioning.broker_config import (
    BridgeSettings,
    Consumer,
    Store,
    bridge_conf,
    central_acl,
    password_file,
    store_acl,
)
from tests.e2e.invariant import invariant_check
from tests.e2e.stack import GROUPS, Burst, Stack, wait_until
from tests.infra.mosquitto import Broker, MqttProbe, make_test_pki, production_broker

KIOSKS = ("s0001-k01", "s0001-k02")
STORE = Store("s0001", KIOSKS, (), ("store-ops",))
CONSUMERS = tuple(Consumer(f"{group}-1", group) for group in GROUPS)
PASSWORDS = {
    name: f"pw-{name}-0123456789"
    for name in (*STORE.usernames, STORE.bridge_username, *(c.username for c in CONSUMERS), "ops")
}
BATCH = 40  # sales per kiosk before, during and after the cut


def wait_bridge_up(store: Broker, timeout: float = 20.0) -> None:
    """Until the store broker reports its bridge connected (its retained state "1")."""
    admin = MqttProbe("store-ops", PASSWORDS["store-ops"])
    assert admin.connect(store.port) == 0
    try:
        topic = f"$SYS/broker/connection/{STORE.bridge_username}/state"
        admin.subscribe(topic)
        deadline = time.monotonic() + timeout
        try:
            while admin.next_message(max(0.0, deadline - time.monotonic())) != (topic, b"1"):
                pass
        except queue.Empty:
            raise AssertionError(f"the bridge did not connect within {timeout} s") from None
    finally:
        admin.close()


def test_bridge_cut_and_restored_while_kiosks_sell_loses_and_doubles_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    pki = make_test_pki(tmp_path / "pki")
    central_users = (STORE.bridge_username, *(c.username for c in CONSUMERS), "ops")
    central = stack.add_broker(
        production_broker(
            tmp_path / "central-broker",
            pki,
            central_acl([STORE], CONSUMERS, ["ops"]),
            password_file({name: PASSWORDS[name] for name in central_users}),
        )
    ).start()
    assert central.tls_port is not None
    bridge = BridgeSettings(
        (("127.0.0.1", central.tls_port),), cafile=str(pki.ca), restart_timeout=(1, 1)
    )
    store = stack.add_broker(
        production_broker(
            tmp_path / "store-broker",
            pki,
            store_acl(STORE),
            password_file({name: PASSWORDS[name] for name in STORE.usernames}),
            {"bridge-central.conf": bridge_conf(STORE, PASSWORDS[STORE.bridge_username], bridge)},
        )
    ).start()
    wait_bridge_up(store)

    url = f"sqlite:///{tmp_path / 'central.db'}"
    hq = stack.make_central(url)
    configs = {
        c.username: hq.write_config(
            c.username, [central.port], username=c.username, password=PASSWORDS[c.username]
        )
        for c in CONSUMERS
    }
    hq.init_db(configs["finance-1"])
    watcher = stack.watcher(central.port, "ops", PASSWORDS["ops"])
    stack.start_consumers(watcher, configs)
    kiosks = [stack.kiosk(k, store.port, username=k, password=PASSWORDS[k]) for k in KIOSKS]
    for kiosk in kiosks:
        stack.agent(kiosk)
    sims = [stack.sim(kiosk) for kiosk in kiosks]

    def sell(first: int) -> None:
        bursts = [Burst(sim, BATCH, first).start() for sim in sims]
        for burst in bursts:
            burst.join()

    sell(0)
    wait_until(
        lambda: all(k.outbox_states() == {"settled": BATCH} for k in kiosks),
        30,
        "the first sales settled through the bridge",
        stack.diagnostics,
    )
    central.stop()  # the bridge is cut
    sell(BATCH)
    # The store broker took every event (PUBACK: sent), but no consumer could ack them.
    wait_until(
        lambda: all(k.outbox_states() == {"settled": BATCH, "sent": BATCH} for k in kiosks),
        20,
        "the store broker to take the sales made during the cut",
        stack.diagnostics,
    )
    central.start()
    wait_bridge_up(store)
    sell(2 * BATCH)

    report = invariant_check(kiosks, url, diagnostics=stack.diagnostics)
    assert set(report.last_seq.values()) == {3 * BATCH}
    assert all(proc.running for proc in stack.procs), "a consumer or agent stopped"
