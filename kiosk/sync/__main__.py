"""``python -m kiosk.sync --config FILE``: run the sync agent (the ``kiosk sync`` process).

The entry point and composition root of the sync process: it hands the store's outbox
repository with the fleet keys (``kiosk.store.fleet_trust.open_sync_store``) to
``kiosk.sync.agent.run_sync``. This is the one module of ``kiosk.sync`` that imports
``kiosk.store`` (``ignore_imports`` lines of the adapters-independent contract in
setup.cfg). Logs are JSON lines on stderr; the level comes from ``--log-level`` or
``KIOSK_LOG_LEVEL`` (default INFO). Exit codes: 0 after a clean stop (SIGTERM, SIGINT), 2 for
a bad config, 1 when kiosk.db cannot be used. Under systemd
(``Type=notify``) it reports ready, stopping and watchdog pings through
``kiosk.app.sd_notify`` (systemd/kiosk-sync.service).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from kiosk.errors import ConfigError, KioskError
from kiosk.logs import LEVELS, setup_logging
from kiosk.store.fleet_trust import open_sync_store
from kiosk.sync.agent import ServiceHooks, run_sync


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kiosk sync", description="Relay the outbox to the MQTT broker and answer commands."
    )
    parser.add_argument("--config", required=True, help="the kiosk's TOML config file")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("KIOSK_LOG_LEVEL", "INFO"),
        help=f"one of {', '.join(LEVELS)} (default: KIOSK_LOG_LEVEL or INFO)",
    )
    args = parser.parse_args(argv)
    try:
        setup_logging(args.log_level)
    except ValueError:
        sys.stderr.write(f"kiosk sync: log level {args.log_level!r} is not one of {LEVELS}\n")
        return 2
    try:
        return run_sync(args.config, open_sync_store, _service())
    except ConfigError as exc:
        text = exc.problem if exc.key == "(file)" else str(exc)
        sys.stderr.write(f"kiosk sync: {text}\n")
        return 2
    except KioskError as exc:
        sys.stderr.write(f"kiosk sync: {exc}\n")
        return 1


def _service() -> ServiceHooks | None:
    """systemd's notify hooks when systemd asked for them (kiosk.app loads only then)."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return None
    from kiosk.app.sd_notify import ServiceNotifier

    return ServiceNotifier()


if __name__ == "__main__":
    sys.exit(main())
