"""``python -m kiosk.sync --config FILE``: run the sync agent (the ``kiosk sync`` process).

The entry point and composition root of the sync process: it hands the store's outbox
repository (``kiosk.store.outbox.open_outbox``) to ``kiosk.sync.agent.run_sync``. This is the
one module of ``kiosk.sync`` that imports ``kiosk.store`` (an ``ignore_imports`` line of the
adapters-independent contract in setup.cfg). Logs are JSON lines on stderr; the level comes
from ``--log-level`` or ``KIOSK_LOG_LEVEL`` (default INFO). Exit codes: 0 after a clean stop
(SIGTERM, SIGINT), 2 for a bad config, 1 when kiosk.db cannot be used.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from kiosk.errors import ConfigError, KioskError
from kiosk.logs import LEVELS, setup_logging
from kiosk.store.outbox import open_outbox
from kiosk.sync.agent import run_sync


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
        return run_sync(args.config, open_outbox)
    except ConfigError as exc:
        text = exc.problem if exc.key == "(file)" else str(exc)
        sys.stderr.write(f"kiosk sync: {text}\n")
        return 2
    except KioskError as exc:
        sys.stderr.write(f"kiosk sync: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
