"""The ``kiosk`` command line: the headless lane, the database and catalog tools, demo set-up,
and the installer's device tools.

    kiosk sim [--json] [--demo] [--fake-devices]   the lane with a text or JSON-lines front end
    kiosk run [--windowed] [--size WxH] [--commands FIFO]   the Kivy touchscreen (fullscreen)
    kiosk run --headless [--demo] [--commands FIFO]   no screen: the lane as a service
    kiosk demo init --dir DIR              a ready-to-sell demo kiosk (config, db, catalog, staff)
    kiosk db check | backup PATH | restore PATH
    kiosk catalog import FILE
    kiosk promo import FILE                promotion rules from a JSON or TOML file
    kiosk staff import FILE | kiosk members import FILE
    kiosk members credit --member ID --amount N --staff ID --reason TEXT [--account A]
    kiosk config check FILE                the config and every [devices.*] table, nothing opened
    kiosk hw list [--json]                 each configured device: found/opened, health
    kiosk hw test printer|drawer|light|scanner   test page, pulse, light cycle, echo a scan

Every command but ``demo init`` and ``config check`` takes ``--config FILE`` (default:
``$KIOSK_CONFIG``, else ``/etc/kiosk/kiosk.toml``). ``run``, ``sim`` and ``hw`` take the lock
(``<data_dir>/kiosk.lock``): while one of them runs, the others are refused. Errors print one
clear line on stderr and exit with status 2 (usage or configuration) or 1 (anything else: a
device that cannot be opened, the lock held by another process).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError, KioskError

DEFAULT_CONFIG = "/etc/kiosk/kiosk.toml"


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default=os.environ.get("KIOSK_CONFIG", DEFAULT_CONFIG),
        help="kiosk config file (default: $KIOSK_CONFIG or %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Self-checkout kiosk firmware")
    sub = parser.add_subparsers(dest="command", required=True)

    sync = sub.add_parser("sync", help="relay the outbox to the MQTT broker (the sync agent)")
    _config_arg(sync)
    sync.add_argument("--log-level", help="DEBUG, INFO, WARNING... (default KIOSK_LOG_LEVEL)")

    sim = sub.add_parser("sim", help="run the lane with a text or JSON-lines front end")
    _config_arg(sim)
    sim.add_argument("--json", action="store_true", help="JSON lines on stdin/stdout")
    sim.add_argument(
        "--demo",
        action="store_true",
        help="sell a scripted demo basket first (demo catalog and staff)",
    )
    sim.add_argument(
        "--fake-devices",
        action="store_true",
        help="drive the fakes instead of the configured devices (settings are still checked)",
    )

    run = sub.add_parser("run", help="the touchscreen kiosk (Kivy), fullscreen")
    _config_arg(run)
    run.add_argument("--windowed", action="store_true", help="a normal window (development)")
    run.add_argument("--size", help="window size WIDTHxHEIGHT, e.g. 800x480 or 1080x1920")
    run.add_argument(
        "--fake-devices", action="store_true", help="simulated devices instead of the configured"
    )
    run.add_argument("--high-contrast", action="store_true", help="the high-contrast palette")
    run.add_argument("--font", help="a font file with CJK glyphs (overrides [ui] font)")
    run.add_argument(
        "--headless", action="store_true", help="no screen: the lane as a service (until SIGTERM)"
    )
    run.add_argument("--demo", action="store_true", help="headless: sell the demo basket once")
    run.add_argument("--commands", help="a named pipe to read sim text commands from")

    hw = sub.add_parser("hw", help="device tools for installers (stop the kiosk first)")
    hw_sub = hw.add_subparsers(dest="action", required=True)
    hw_list = hw_sub.add_parser("list", help="configured devices: found, opened, health")
    _config_arg(hw_list)
    hw_list.add_argument("--json", action="store_true", help="one JSON list on stdout")
    hw_test = hw_sub.add_parser("test", help="exercise one device")
    _config_arg(hw_test)
    hw_test.add_argument("device", choices=("printer", "drawer", "light", "scanner"))
    hw_test.add_argument(
        "--timeout", type=float, default=30.0, help="scanner: seconds to wait (%(default)s)"
    )
    hw_test.add_argument(
        "--hold", type=float, default=2.0, help="light: seconds per state (%(default)s)"
    )

    demo = sub.add_parser("demo", help="demo kiosk set-up")
    demo_sub = demo.add_subparsers(dest="action", required=True)
    init = demo_sub.add_parser("init", help="write a demo config and a ready kiosk.db")
    init.add_argument("--dir", required=True, help="folder for the demo kiosk")
    init.add_argument("--catalog", help="catalog CSV (default: the shipped demo catalog)")

    db = sub.add_parser("db", help="kiosk.db tools")
    db_sub = db.add_subparsers(dest="action", required=True)
    for name, text in (
        ("check", "integrity, schema and hash chain"),
        ("backup", "online backup to PATH (file or folder)"),
        ("restore", "verify PATH and restore it (stop the kiosk first)"),
    ):
        p = db_sub.add_parser(name, help=text)
        _config_arg(p)
        if name != "check":
            p.add_argument("path")

    for group, text in (
        ("catalog", "catalog tools"),
        ("staff", "staff tools"),
        ("members", "member tools"),
    ):
        p = sub.add_parser(group, help=text)
        p_sub = p.add_subparsers(dest="action", required=True)
        imp = p_sub.add_parser("import", help=f"replace the {group} from a CSV file")
        _config_arg(imp)
        imp.add_argument("file")
        if group == "members":
            top = p_sub.add_parser("credit", help="top up a member's stored value (or points)")
            _config_arg(top)
            top.add_argument("--member", required=True, help="the member id (C0001)")
            top.add_argument("--amount", required=True, help="50.00 (stored value) or points")
            top.add_argument("--staff", required=True, help="who took the money (staff id)")
            top.add_argument("--reason", required=True, help="the top-up receipt or voucher")
            top.add_argument(
                "--account", default="stored_value", choices=("stored_value", "points")
            )
            top.add_argument("--day", help="business day YYYY-MM-DD (default: today's)")

    promo = sub.add_parser("promo", help="promotion tools")
    promo_sub = promo.add_subparsers(dest="action", required=True)
    imp = promo_sub.add_parser(
        "import", help="replace the promotion rules from a JSON or TOML promotion file"
    )
    _config_arg(imp)
    imp.add_argument("file")

    cfg = sub.add_parser("config", help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="action", required=True)
    chk = cfg_sub.add_parser("check", help="validate a config file; names the bad key and why")
    chk.add_argument("file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from kiosk.logs import LEVELS, setup_logging

    level = os.environ.get("KIOSK_LOG_LEVEL", "WARNING")
    try:
        setup_logging(level)
    except ValueError:
        print(
            f"kiosk: KIOSK_LOG_LEVEL {level!r} is not one of {', '.join(LEVELS)}",
            file=sys.stderr,
        )
        return 2
    try:
        return _dispatch(args)
    except ConfigError as exc:
        # "(file)" problems (unreadable file, not TOML) already name the file.
        text = exc.problem if exc.key == "(file)" else str(exc)
        print(f"kiosk: {text}", file=sys.stderr)
        return 2
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "sim":
        return _sim(args)
    if command == "run" and args.headless:
        from kiosk.app.lane_service import run_lane_service

        return run_lane_service(args.config, demo=args.demo, commands=args.commands)
    if command == "run":
        from kiosk.app.gui import GuiOptions, parse_size, run_gui

        options = GuiOptions(
            windowed=args.windowed,
            size=parse_size(args.size) if args.size else None,
            fake_devices=args.fake_devices,
            high_contrast=args.high_contrast,
            font=args.font,
            commands=args.commands,
        )
        return run_gui(args.config, options)
    if command == "sync":
        from kiosk.sync.__main__ import main as sync_main

        level = ["--log-level", args.log_level] if args.log_level else []
        return sync_main(["--config", args.config, *level])
    if command == "demo":
        return _demo_init(Path(args.dir), args.catalog)
    if command == "config":
        return _config_check(args.file)
    if command == "db":
        return _db(args)
    if command == "hw":
        return _hw(args)
    if command == "promo":
        return _promo_import(args)
    if command == "members" and args.action == "credit":
        return _members_credit(args)
    return _import(command, args)


# ------------------------------------------------------------------------------- commands
def _sim(args: argparse.Namespace) -> int:
    from kiosk.app import KioskLock, build_headless, read_config
    from kiosk.lane_runner import LaneRunner
    from kiosk.sim.demo import DEMO_SCRIPT
    from kiosk.sim.runner import SimRunner

    config = read_config(args.config)
    with KioskLock.acquire(config.paths.data_dir, "kiosk sim"):
        kiosk = build_headless(config, force_fakes=args.fake_devices)
        runner = LaneRunner(kiosk.lane)
        sim = SimRunner(runner, kiosk.drivers, sys.stdout, json_mode=args.json)
        try:
            kiosk.devices.connect(runner)
            sim.start()
            kiosk.devices.start()
            if args.demo:
                sim.run(DEMO_SCRIPT, text=True)
            if not args.demo or sys.stdin.isatty():
                sim.run(sys.stdin)
        finally:
            kiosk.devices.stop()  # no more scans, then let the lane finish what is queued
            try:
                runner.stop()
            finally:
                kiosk.close()
    return 0


def _hw(args: argparse.Namespace) -> int:
    import json

    from kiosk.app import KioskLock, read_config
    from kiosk.app import hw_tools as tools
    from kiosk.hw.system import SystemClock

    config = read_config(args.config)
    clock = SystemClock()
    with KioskLock.acquire(config.paths.data_dir, f"kiosk hw {args.action}"):
        if args.action == "list":
            rows = tools.list_devices(config, clock)
            if args.json:
                print(json.dumps([row.as_dict() for row in rows], ensure_ascii=False, indent=2))
            else:
                _print_device_table(rows)
            return 0 if all(row.opened and row.ok for row in rows) else 1
        if args.device == "scanner" and not args.timeout > 0:
            raise ConfigError("--timeout", f"{args.timeout} must be more than 0 seconds")
        if args.device == "light" and args.hold < 0:
            raise ConfigError("--hold", f"{args.hold} must not be negative")

        def say(line: str) -> None:
            print(line, flush=True)

        tests = {
            "printer": lambda: tools.test_printer(config, clock, say),
            "drawer": lambda: tools.test_drawer(config, clock, say),
            "light": lambda: tools.test_light(config, clock, say, args.hold),
            "scanner": lambda: tools.test_scanner(config, clock, say, args.timeout, sys.stdin),
        }
        return 0 if tests[args.device]() else 1


def _print_device_table(rows: Sequence[Any]) -> None:
    """A table of the devices, then each problem in full (it says what to do)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="configured devices")
    for column in ("device", "kind", "name", "where", "opened", "health"):
        table.add_column(column, overflow="fold")
    problems = []
    for row in rows:
        good = row.opened and row.ok
        health = f"ok: {row.detail}" if good else "FAULT (below)"
        cells = (row.device, row.kind, row.name, row.where, "yes" if row.opened else "NO", health)
        table.add_row(*(Text(cell) for cell in cells), style=None if good else "red")
        if not good:
            problems.append(f"{row.device} {row.name}: {row.detail}")
    console = Console(soft_wrap=False)
    console.print(table)
    for problem in problems:
        console.print(Text(problem), soft_wrap=True)


def _config_check(path: str) -> int:
    from kiosk.app import device_settings, read_config, time_zone
    from kiosk.sync.settings import SyncSettings

    config = read_config(path)
    time_zone(config)
    device_settings(config)  # each [devices.*] table against its adapter; opens nothing
    SyncSettings.from_config(config, config.sync, base_dir=Path(path).resolve().parent)
    from kiosk.store.catalog_categories import picture_warnings

    for warning in picture_warnings(config.paths.db, config.paths.pictures):
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"{path}: ok (store {config.store.id}, kiosk {config.kiosk.id}, "
        f"{config.store.currency}, tax {config.tax.mode} {config.tax.rounding})"
    )
    return 0


def _db(args: argparse.Namespace) -> int:
    from kiosk.app import read_config
    from kiosk.store import backup, check_db, open_db, restore

    config = read_config(args.config)
    if args.action == "check":
        if not Path(config.paths.db).exists():
            raise KioskError(f"{config.paths.db} does not exist")
        db = open_db(config.paths.db, read_only=True)
        try:
            report = check_db(db)
        finally:
            db.conn.close()
        print(report.summary())
        return 0 if report.ok else 1
    if args.action == "backup":
        made = backup(config.paths.db, args.path)
        print(
            f"backup written: {made.path} ({made.size} bytes, schema {made.schema_version}, "
            f"last seq {made.last_seq})"
        )
        return 0
    done = restore(args.path, config.paths.db)
    # A backup is a rollback-journal file; open it read-write once so the restored kiosk.db is
    # in WAL mode again (a read-only open, as ``db check`` does, cannot switch it).
    open_db(done.path).conn.close()
    print(
        f"restored {args.path} -> {done.path} (last seq {done.last_seq}); previous database "
        f"kept as {done.previous_saved_as}"
    )
    return 0


def _promo_import(args: argparse.Namespace) -> int:
    """``kiosk promo import FILE``: validate and replace the promotion rules (all or nothing)."""
    from kiosk.app import open_store, read_config
    from kiosk.store import import_promotions

    config = read_config(args.config)
    db = open_store(config)
    try:
        report = import_promotions(db, args.file, config.store.currency)
    finally:
        db.conn.close()
    replaced = f"; replaced {report.replaced}" if report.replaced is not None else ""
    print(
        f"imported {report.promotions} promotions, version {report.version} "
        f"({report.currency}){replaced}"
    )
    return 0


def _members_credit(args: argparse.Namespace) -> int:
    """``kiosk members credit``: an audited top-up (kiosk.store.loyalty_admin)."""
    from datetime import datetime

    from kiosk.app import open_store, read_config
    from kiosk.app.loading import time_zone
    from kiosk.store.loyalty_admin import TopUpError, parse_amount, top_up
    from kiosk.timefmt import business_day

    config = read_config(args.config)
    tz = time_zone(config)
    day = (
        args.day
        or business_day(datetime.now(tz), tz, config.store.business_day_cutoff_hour).isoformat()
    )
    db = open_store(config)
    try:
        amount = parse_amount(args.amount, args.account, config.store.currency)
        done = top_up(db, args.member, args.account, amount, args.staff, args.reason, day)
    except TopUpError as exc:
        print(f"kiosk: members credit: {exc}", file=sys.stderr)
        return 2
    finally:
        db.conn.close()
    print(f"credited {done.amount} {done.account} to {done.member_id}: balance {done.balance}")
    return 0


def _import(group: str, args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kiosk.app import member_key, open_store, read_config
    from kiosk.money import exponent
    from kiosk.store import import_catalog, import_members, import_staff

    config = read_config(args.config)
    db = open_store(config)
    try:
        if group == "staff":
            print(f"imported {import_staff(db, args.file)} staff")
        elif group == "members":
            print(f"imported {import_members(db, args.file, member_key(config))} members")
        else:
            with Progress(
                TextColumn("importing {task.description}"),
                BarColumn(),
                TextColumn("{task.completed} rows"),
                TimeElapsedColumn(),
                transient=True,
                disable=not sys.stderr.isatty(),
            ) as progress:
                task = progress.add_task(Path(args.file).name, total=None)
                report = import_catalog(
                    db,
                    args.file,
                    exponent(config.store.currency),
                    set(config.tax.codes),
                    progress=lambda rows: progress.update(task, completed=rows),
                )
            print(
                f"imported {report.products} products ({report.gtins} GTINs) in "
                f"{report.seconds:.1f} s; replaced {report.replaced}"
            )
    finally:
        db.conn.close()
    return 0


def _demo_init(folder: Path, catalog: str | None) -> int:
    """Write ``folder/kiosk.toml`` (paths inside ``folder``), a member-phone key, and a
    kiosk.db holding the demo catalog, staff and members. Safe to run again: the catalog,
    staff and members are replaced; sales already made are kept."""
    from kiosk.app import member_key, open_store, read_config
    from kiosk.money import exponent
    from kiosk.store import import_catalog, import_members, import_staff

    demo = resources.files("kiosk") / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "secrets" / "member-phone.key"
    if not key_file.exists():
        key_file.parent.mkdir(mode=0o700, exist_ok=True)
        key_file.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        key_file.chmod(0o600)
    text = (demo / "kiosk.toml").read_text(encoding="utf-8")
    config_path = folder / "kiosk.toml"
    config_path.write_text(_demo_paths(text), encoding="utf-8")
    config = read_config(config_path)
    db = open_store(config)
    try:
        with resources.as_file(demo / "catalog.csv") as shipped:
            source = catalog or str(shipped)
            report = import_catalog(
                db, source, exponent(config.store.currency), set(config.tax.codes)
            )
        with resources.as_file(demo / "staff.csv") as staff_csv:
            staff = import_staff(db, str(staff_csv))
        with resources.as_file(demo / "members.csv") as members_csv:
            members = import_members(db, str(members_csv), member_key(config))
    finally:
        db.conn.close()
    pictures = Path(config.paths.pictures)  # the demo categories' pictures
    pictures.mkdir(parents=True, exist_ok=True)
    for picture in (demo / "pictures").iterdir():
        if picture.name.endswith(".png"):
            (pictures / picture.name).write_bytes(picture.read_bytes())
    print(
        f"demo kiosk ready in {folder}: {report.products} products, {staff} staff, "
        f"{members} members; config {config_path}"
    )
    return 0


def _demo_paths(text: str) -> str:
    """Point every [paths] entry of the shipped demo config inside the demo folder."""
    out, in_paths = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_paths = stripped.startswith("[paths]")
        if in_paths and "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip()
            value = {"data_dir": ".", "db": "kiosk.db"}.get(key, key)
            out.append(f'{key} = "{value}"')
        else:
            out.append(line)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
