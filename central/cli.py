"""``kiosk-central``: run a consumer, initialise the database, record stock, print reports.

The entry point (console script ``kiosk-central = central.cli:main``); everything runs on the
main thread except the MQTT network thread a consumer starts. Commands::

    kiosk-central db init        --config central.toml
    kiosk-central inventory      --config central.toml [--client-id ID]
    kiosk-central finance        --config central.toml [--client-id ID]
    kiosk-central stock receive  --config F --store S --sku SKU --qty Q --supplier X [--po PO]
    kiosk-central stock adjust   --config F --store S --sku SKU --qty -Q --reason R
    kiosk-central stock count    --config F --store S --sku SKU --qty Q [--reason R]
    kiosk-central report KIND    --config F --store S [--from D] [--to D] [--format F] [--by B]
    kiosk-central dead-letters   --config F [--group G] [--format table|json]
    kiosk-central members credit --config F --store S --member M --account A --amount N --reason R
    kiosk-central fleet keygen|sign-command|send-command|rotate-key|sign-config|send-config

A consumer stops on SIGTERM or SIGINT: it finishes the batch in hand, publishes its group's
offline state and disconnects cleanly. Exit status: 0 done, 1 failed, 2 bad usage or config.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from central.apply import Applier
from central.clock import utc_now_text
from central.config import CentralConfig, CentralConfigError, load_config
from central.deadletters import list_dead_letters
from central.finance import FinanceHandler
from central.fleet import add_parser as add_fleet_parser
from central.fleet import run as run_fleet
from central.inventory import InventoryHandler, record_back_office
from central.members import credit_member
from central.mqtt_link import ConsumerLink
from central.report_format import FORMATS, render
from central.reports import KINDS, ReportQuery, build_report
from central.runtime import ConsumerRuntime
from central.stock import Movement, milli_text, to_milli
from central.storage import SchemaMissing, check_schema, init_schema, make_engine, read_only

logger = logging.getLogger(__name__)


def _say(text: str) -> None:
    sys.stdout.write(f"{text}\n")


class UsageError(ValueError):
    """A command-line value is wrong; the message says which and why."""


def default_client_id(group: str) -> str:
    host = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-") or "host"
    return f"central-{group}-{host}"[:63].rstrip("-")


def _engine(config: CentralConfig) -> Engine:
    engine = make_engine(config.database_url)
    check_schema(engine)
    return engine


# ------------------------------------------------------------------------------- consumers
def run_consumer(config: CentralConfig, which: str, client_id: str | None) -> int:
    engine = _engine(config)
    handler: InventoryHandler | FinanceHandler = (
        InventoryHandler(config.inventory)
        if which == "inventory"
        else FinanceHandler(config.finance)
    )
    client_id = client_id or config.mqtt.client_id or default_client_id(handler.group)
    applier = Applier(engine, handler, config.kiosks, config.consumer.max_payload_bytes, client_id)
    link = ConsumerLink(
        config.mqtt,
        handler.group,
        client_id,
        receive_maximum=max(2 * config.consumer.batch_size, 100),
    )
    runtime = ConsumerRuntime(
        applier, link, engine, config.consumer, publish_alerts=which == "inventory"
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("%s received: stopping after the current batch", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logger.info("%s consumer %s starting (database %s)", handler.group, client_id, engine.url)
    link.start()
    try:
        runtime.run(stop)
    finally:
        link.stop()
        engine.dispose()
        s = runtime.stats
        logger.info(
            "%s stopped: %d applied, %d duplicates, %d parked",
            client_id,
            s.applied,
            s.duplicates,
            s.parked,
        )
    return 0


# ----------------------------------------------------------------------------------- stock
def _qty(text: str) -> Decimal:
    try:
        qty = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"--qty {text!r} is not a number") from None
    if not qty.is_finite():
        raise UsageError(f"--qty {text!r} is not a finite number")
    return qty


def _day(text: str | None, name: str) -> str:
    if text is None:
        return date.today().isoformat()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise UsageError(f"{name} {text!r} is not a date YYYY-MM-DD") from None


def run_stock(config: CentralConfig, args: argparse.Namespace) -> int:
    qty = _qty(args.qty)
    kind = args.stock_command
    if kind == "receive" and qty <= 0:
        raise UsageError("--qty of a receipt must be more than 0")
    if kind == "adjust" and qty == 0:
        raise UsageError("--qty of an adjustment must not be 0 (negative takes stock off)")
    if kind == "count" and qty < 0:
        raise UsageError("--qty of a count must be 0 or more")
    movement = Movement(
        movement_id=args.id or f"{kind}:{uuid.uuid4()}",
        store_id=args.store,
        sku=args.sku,
        kind=kind,
        qty_milli=to_milli(qty),
        unit=args.unit,
        business_day=_day(args.day, "--day"),
        supplier=getattr(args, "supplier", None),
        purchase_order=getattr(args, "po", None),
        reason=args.reason,
    )
    engine = _engine(config)
    try:
        result = record_back_office(engine, movement, config.inventory, utc_now_text())
    finally:
        engine.dispose()
    what = "already recorded, unchanged" if result.duplicate else "recorded"
    _say(
        f"{kind} {milli_text(movement.qty_milli)} {movement.unit} of {movement.sku} at "
        f"{movement.store_id} {what} ({movement.movement_id}): on hand "
        f"{milli_text(result.on_hand_milli)} {result.unit}"
    )
    for alert in result.alerts:
        _say(
            f"low stock: {alert.sku} at {alert.store_id} is {milli_text(alert.on_hand_milli)}, "
            f"below {milli_text(alert.threshold_milli)} (alert queued for the inventory consumer)"
        )
    return 0


# --------------------------------------------------------------------------------- reports
def run_report(config: CentralConfig, args: argparse.Namespace) -> int:
    first = _day(args.first_day, "--from")
    last = _day(args.last_day or args.first_day, "--to")
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    engine = _engine(config)
    try:
        with engine.connect() as conn:
            query = ReportQuery(
                args.store,
                first,
                last,
                args.by == "kiosk",
                args.points_cap,
                args.stored_value_cap,
            )
            report = build_report(read_only(conn), args.kind, query)
    finally:
        engine.dispose()
    sys.stdout.write(render(report, args.format))
    return 0


def run_members(config: CentralConfig, args: argparse.Namespace) -> int:
    """``members credit``: a top-up or correction of a member's account at central."""
    day = _day(args.day, "--day")
    engine = _engine(config)
    try:
        with engine.begin() as conn:
            after = credit_member(
                conn, args.member, args.account, args.amount, args.store, day, args.reason
            )
    finally:
        engine.dispose()
    _say(f"member {args.member} {args.account} balance at central: {after}")
    return 0


def run_dead_letters(config: CentralConfig, args: argparse.Namespace) -> int:
    engine = _engine(config)
    try:
        with engine.connect() as conn:
            rows = list_dead_letters(read_only(conn), args.group, args.limit)
    finally:
        engine.dispose()
    if args.format == "json":
        sys.stdout.write(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
        return 0
    for r in rows:
        _say(
            f"#{r.id} {r.consumer_group} {r.last_seen} x{r.times_seen} {r.topic} "
            f"kiosk={r.kiosk_id} seq={r.seq} event={r.event_id} ({r.payload_size} bytes): "
            f"{r.reason}"
        )
    if not rows:
        _say("no dead letters")
    return 0


# ---------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk-central", description="Central consumers, stock movements and reports."
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", required=True, type=Path, help="central.toml")
        return p

    db = commands.add_parser("db", help="database administration")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    with_config(db_commands.add_parser("init", help="create the schema (idempotent)"))

    for name in ("inventory", "finance"):
        p = with_config(commands.add_parser(name, help=f"run the {name} consumer"))
        p.add_argument("--client-id", help="MQTT client id (one per instance; default from config)")

    stock = commands.add_parser("stock", help="record back-office stock movements")
    stock_commands = stock.add_subparsers(dest="stock_command", required=True)
    for name, helptext in (
        ("receive", "goods received from a supplier"),
        ("adjust", "a correction: damage, loss, found stock (signed)"),
        ("count", "a stock count: sets on hand to the counted quantity"),
    ):
        p = with_config(stock_commands.add_parser(name, help=helptext))
        p.add_argument("--store", required=True)
        p.add_argument("--sku", required=True)
        p.add_argument("--qty", required=True, help="quantity in the SKU's unit, e.g. 12 or 2.5")
        p.add_argument("--unit", default="ea", help="the SKU's unit (ea, kg, ...)")
        p.add_argument("--day", help="business day (default today)")
        p.add_argument("--id", help="movement id, to make a retried command idempotent")
        if name == "receive":
            p.add_argument("--supplier", required=True)
            p.add_argument("--po", help="purchase-order reference")
        p.add_argument("--reason", required=name == "adjust")

    report = with_config(commands.add_parser("report", help="print a report"))
    report.add_argument("kind", choices=KINDS)
    report.add_argument("--store", required=True)
    report.add_argument("--from", dest="first_day", help="first business day (default today)")
    report.add_argument("--to", dest="last_day", help="last business day (default --from)")
    report.add_argument("--format", default="table", choices=FORMATS)
    report.add_argument("--by", default="store", choices=("store", "kiosk"), help="sales rows")
    report.add_argument("--points-cap", type=int, default=0, help="members: daily points cap")
    report.add_argument(
        "--stored-value-cap", type=int, default=0, help="members: daily stored value cap"
    )

    members = commands.add_parser("members", help="members' accounts at central")
    member_commands = members.add_subparsers(dest="members_command", required=True)
    credit = with_config(
        member_commands.add_parser("credit", help="a top-up (or, negative, a correction)")
    )
    credit.add_argument("--store", required=True)
    credit.add_argument("--member", required=True)
    credit.add_argument("--account", required=True, choices=("points", "stored_value"))
    credit.add_argument("--amount", required=True, type=int, help="points, or minor units")
    credit.add_argument("--reason", required=True)
    credit.add_argument("--day", help="business day (default today)")

    dead = with_config(commands.add_parser("dead-letters", help="list parked payloads"))
    dead.add_argument("--group")
    dead.add_argument("--limit", type=int, default=1000)
    dead.add_argument("--format", default="table", choices=("table", "json"))
    add_fleet_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "fleet":
            return run_fleet(args, lambda path: load_config(path).mqtt, _say)
        config = load_config(args.config)
        if args.command == "db":
            engine = make_engine(config.database_url)
            created = init_schema(engine)
            engine.dispose()
            _say("schema created" if created else "schema already present (missing tables added)")
            return 0
        if args.command in ("inventory", "finance"):
            return run_consumer(config, args.command, args.client_id)
        if args.command == "stock":
            return run_stock(config, args)
        if args.command == "report":
            return run_report(config, args)
        if args.command == "members":
            return run_members(config, args)
        return run_dead_letters(config, args)
    except (CentralConfigError, UsageError) as exc:
        sys.stderr.write(f"kiosk-central: {exc}\n")
        return 2
    except (SchemaMissing, SQLAlchemyError, OSError, ValueError) as exc:
        sys.stderr.write(f"kiosk-central: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
