"""A network partition between the kiosks and the store broker, end to end.

There is no network namespace or iptables to rely on in the test machines, so the kiosks reach
the broker through ``LinkProxy``, a TCP relay in the test. ``cut()`` turns it into a black
hole: bytes in either direction are dropped, nobody is told (no FIN, no reset), and new
connections are accepted but never answered, as when packets are lost on a dead link. Each
side finds out by itself through MQTT keepalive (the broker publishes the kiosk's Will; the
agent stops waiting for its PINGRESP and keeps trying to reconnect). ``heal()`` closes the
dead connections and relays new ones again. The consumers talk to the broker directly and
keep working throughout; the lanes keep selling.
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress
from functools import partial
from pathlib import Path

from tests.e2e.invariant import invariant_check
from tests.e2e.stack import GROUPS, Burst, Stack, deploy, wait_until

BEFORE = 40  # sales per kiosk before, during and after the partition


class LinkProxy:
    """127.0.0.1:``port`` relayed to 127.0.0.1:``target``, one thread per direction."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.lock = threading.Lock()
        self.partitioned = False
        self.dead: list[socket.socket] = []  # connections of the partition: never answered
        self.live: list[tuple[socket.socket, socket.socket]] = []
        self.closed = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                if self.partitioned:
                    self.dead.append(client)
                    threading.Thread(target=self._drain, args=(client,), daemon=True).start()
                    continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            pair = (client, upstream)
            with self.lock:
                self.live.append(pair)
            for src, dst in (pair, pair[::-1]):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _drain(self, sock: socket.socket) -> None:
        """Read and drop everything: the peer's bytes vanish on the dead link."""
        with suppress(OSError):
            while sock.recv(65536):
                pass

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                with self.lock:
                    gone = self.partitioned or src in self.dead
                if not gone:
                    dst.sendall(data)
        with self.lock:
            silent = src in self.dead
        if not silent:  # a close before the partition travels on, as TCP's FIN would
            with suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        with self.lock:
            self.partitioned = True
            for client, upstream in self.live:
                self.dead += [client, upstream]
            self.live = []

    def heal(self) -> None:
        """The link is back: connections that lived through the partition are gone (their
        peers gave up on them long ago); new ones are relayed."""
        with self.lock:
            self.partitioned = False
            dead, self.dead = self.dead, []
        for sock in dead:
            with suppress(OSError):
                sock.close()

    def close(self) -> None:
        self.closed = True
        self.server.close()
        self.heal()
        with self.lock:
            live, self.live = self.live, []
        for pair in live:
            for sock in pair:
                with suppress(OSError):
                    sock.close()


def test_partition_between_kiosks_and_broker_heals_and_every_sale_arrives_once(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    d = deploy(stack, url, kiosk_ids=())
    proxy = LinkProxy(d.broker.port)
    try:
        # keepalive 2 s: the broker gives a silent kiosk up after 3 s (1.5 x keepalive).
        kiosks = [stack.kiosk(k, proxy.port, keepalive_s=2) for k in ("s0001-k01", "s0001-k02")]
        agents = [stack.agent(kiosk) for kiosk in kiosks]
        sims = [stack.sim(kiosk) for kiosk in kiosks]

        def sell(first: int) -> None:
            bursts = [Burst(sim, BEFORE, first).start() for sim in sims]
            for burst in bursts:
                burst.join()

        sell(0)
        wait_until(
            lambda: all(k.outbox_states() == {"settled": BEFORE} for k in kiosks),
            30,
            "the first sales settled",
            stack.diagnostics,
        )
        wills = {k.kiosk_id: d.watcher.live(f"pos/v1/{k.kiosk_id}/state", False) for k in kiosks}
        proxy.cut()
        sell(BEFORE)  # the lanes sell on during the partition
        # Both ends notice: the broker publishes each kiosk's Will, each agent loses its link.
        for kiosk, agent in zip(kiosks, agents, strict=True):
            will = f"pos/v1/{kiosk.kiosk_id}/state"
            wait_until(
                partial(d.watcher.reached, will, False, wills[kiosk.kiosk_id] + 1),
                15,
                f"the broker to publish {kiosk.kiosk_id}'s Will",
            )
            wait_until(
                partial(agent.logged, f"connection to 127.0.0.1:{proxy.port} lost"),
                15,
                f"{kiosk.kiosk_id}'s agent to notice the dead link",
            )
        # Nothing sold during the partition was acknowledged by the broker, let alone settled.
        for kiosk in kiosks:
            assert kiosk.outbox_states() == {"settled": BEFORE, "pending": BEFORE}
        proxy.heal()
        sell(2 * BEFORE)

        report = invariant_check(kiosks, url, diagnostics=stack.diagnostics)
        assert set(report.last_seq.values()) == {3 * BEFORE}
        for kiosk in kiosks:  # back online: a birth after the Will
            assert d.watcher.live(f"pos/v1/{kiosk.kiosk_id}/state", True) >= 2
        for group in GROUPS:  # the consumers never lost the broker
            assert stack.consumers[f"{group}-1"].log().count("connected (session") == 1
    finally:
        proxy.close()
