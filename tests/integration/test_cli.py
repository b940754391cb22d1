"""The ``kiosk`` command line on real demo kiosks in tmp_path: config check, demo init, the
catalog/staff/members imports, db check/backup/restore, and clear errors with exit status 2
(configuration) or 1 (anything else). Most commands run in-process through ``kiosk.cli.main``;
a few run the installed console script to prove it works."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.store import SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]
KIOSK_SCRIPT = REPO / ".venv" / "bin" / "kiosk"
DEMO = resources.files("kiosk") / "demo"
CATALOG_HEADER = (
    "sku,gtins,plu,category,unit,price,tax_code,age_limit,not_for_sale,quantity_limit,"
    "name_zh_CN,name_en\n"
)


pytestmark = pytest.mark.usefixtures("root_logging_restored")  # tests/integration/conftest.py


@pytest.fixture
def kiosk_dir(demo_template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "kiosk"
    shutil.copytree(demo_template, folder)
    return folder


@pytest.fixture
def config(kiosk_dir: Path) -> str:
    return str(kiosk_dir / "kiosk.toml")


def counts(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(db_path)
    try:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("products", "product_gtins", "staff", "members", "sales", "journal")
        }
    finally:
        conn.close()


def one_value(db_path: Path, sql: str, *params: object) -> object:
    conn = sqlite3.connect(db_path)
    try:
        row = conn.execute(sql, params).fetchone()
        return None if row is None else row[0]
    finally:
        conn.close()


def sell_demo_basket(config: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One card sale through ``kiosk sim --demo`` in-process (stdin is empty: not a tty)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["sim", "--demo", "--config", config]) == 0


def db_bytes(folder: Path) -> bytes:
    """kiosk.db and any -wal/-shm beside it."""
    files = sorted(folder.glob("kiosk.db*"))
    assert folder / "kiosk.db" in files
    return b"".join(path.read_bytes() for path in files)


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert KIOSK_SCRIPT.exists(), f"{KIOSK_SCRIPT}: run `pip install -e .` into .venv"
    return subprocess.run(
        [str(KIOSK_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


# ------------------------------------------------------------------------------ config check
def test_config_check_of_a_good_file_says_ok(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check", config]) == 0
    out = capsys.readouterr().out
    assert out == f"{config}: ok (store s0001, kiosk s0001-k01, CNY, tax inclusive per_line)\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[tax]\ncodez = "x"\n', "config key 'tax.codez': unknown key"),
        ("[tax.codes]\nVAT13 = 0.13\n", "config key 'tax.codes.VAT13': write the rate as a string"),
        ("[receipt]\nwidth = 40\n", "config key 'receipt.width': 40 must be 32, 42 or 48 columns"),
        (
            '[store]\ntime_zone = "Mars/Olympus_Mons"\n',
            "config key 'store.time_zone': 'Mars/Olympus_Mons' is not in the time zone database",
        ),
        (
            '[broker]\npassword_env = "KIOSK_NO_SUCH_VAR"\n',
            "config key 'broker.password_env': environment variable KIOSK_NO_SUCH_VAR is not set",
        ),
        ("[sync]\nwindow = 0\n", "config key 'sync.window'"),
        ("[sync]\nwindoww = 5\n", "config key 'sync.windoww': unknown key"),
    ],
)
def test_config_check_of_a_bad_file_exits_2_naming_key_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(body, encoding="utf-8")
    assert main(["config", "check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"kiosk: {message}")
    assert captured.err.count("\n") == 1  # one clear line, no traceback


def test_config_check_of_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["config", "check", str(missing)]) == 2
    assert capsys.readouterr().err == f"kiosk: cannot read {missing}: No such file or directory\n"


def test_config_check_of_a_non_utf8_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b"\xff\xfe[store]\n")
    assert main(["config", "check", str(path)]) == 2
    assert capsys.readouterr().err == f"kiosk: {path} is not UTF-8 text (byte 0)\n"


def test_console_script_config_check_ok_and_bad(config: str, tmp_path: Path) -> None:
    good = run_script("config", "check", config)
    assert (good.returncode, good.stderr) == (0, "")
    assert good.stdout.startswith(f"{config}: ok (store s0001")
    bad_path = tmp_path / "bad.toml"
    bad_path.write_text('[kiosk]\nlanguages = ["en"]\ndefault_language = "ja"\n', encoding="utf-8")
    bad = run_script("config", "check", str(bad_path))
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == "kiosk: config key 'kiosk.default_language': 'ja' is not in languages\n"


# ------------------------------------------------------------------------------ missing config
@pytest.mark.parametrize(
    "args",
    [
        ["db", "check"],
        ["db", "backup", "somewhere"],
        ["catalog", "import", "catalog.csv"],
        ["staff", "import", "staff.csv"],
        ["sim", "--json"],
    ],
)
def test_missing_config_file_is_a_clear_error_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    missing = tmp_path / "etc" / "kiosk.toml"
    assert main([*args, "--config", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"kiosk: cannot read {missing}: No such file or directory\n"
    assert captured.out == ""


def test_console_script_uses_kiosk_config_env_and_reports_it_missing(tmp_path: Path) -> None:
    missing = tmp_path / "kiosk.toml"
    done = run_script("db", "check", env={"KIOSK_CONFIG": str(missing)})
    assert done.returncode == 2
    assert done.stderr == f"kiosk: cannot read {missing}: No such file or directory\n"


def test_unknown_log_level_is_a_clear_error_with_exit_2(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIOSK_LOG_LEVEL", "LOUD")
    assert main(["config", "check", config]) == 2
    assert capsys.readouterr().err == (
        "kiosk: KIOSK_LOG_LEVEL 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
    )


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["db", "repair"])
    assert caught.value.code == 2
    assert "invalid choice: 'repair'" in capsys.readouterr().err


# ------------------------------------------------------------------------------ demo init
def test_demo_init_creates_a_working_kiosk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", "init", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"demo kiosk ready in {folder}: 300 products, 3 staff, 4 members; "
        f"config {folder / 'kiosk.toml'}\n"
    )
    key = folder / "secrets" / "member-phone.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (folder / "secrets").stat().st_mode & 0o777 == 0o700
    assert len(bytes.fromhex(key.read_text(encoding="utf-8").strip())) == 32
    assert counts(folder / "kiosk.db") == {
        "products": 300,
        "product_gtins": one_value(folder / "kiosk.db", "SELECT count(*) FROM product_gtins"),
        "staff": 3,
        "members": 4,
        "sales": 0,
        "journal": 0,
    }
    config = str(folder / "kiosk.toml")
    assert main(["config", "check", config]) == 0
    sell_demo_basket(config, monkeypatch)
    assert "== sale completed, seq 1 ==" in capsys.readouterr().out
    assert counts(folder / "kiosk.db")["sales"] == 1


def test_demo_init_twice_keeps_sales_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", "init", "--dir", str(folder)]) == 0
    config = str(folder / "kiosk.toml")
    key = (folder / "secrets" / "member-phone.key").read_text(encoding="utf-8")
    sell_demo_basket(config, monkeypatch)
    sell_demo_basket(config, monkeypatch)
    before = counts(folder / "kiosk.db")
    assert (before["sales"], before["journal"]) == (2, 2)
    capsys.readouterr()
    assert main(["demo", "init", "--dir", str(folder)]) == 0
    assert counts(folder / "kiosk.db") == before
    assert (folder / "secrets" / "member-phone.key").read_text(encoding="utf-8") == key
    assert main(["db", "check", "--config", config]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("2 sales: ok")
    # Members imported under the same key are still found by phone after the second init.
    member = one_value(
        folder / "kiosk.db", "SELECT member_id FROM members WHERE masked_phone = '138****0001'"
    )
    assert member == "C0001"


def test_demo_init_with_a_catalog_uses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "mini.csv"
    catalog.write_text(
        CATALOG_HEADER + "900001,6921168509256,,Drinks,ea,3.50,VAT13,0,0,0,水,Water\n",
        encoding="utf-8",
    )
    folder = tmp_path / "demo"
    assert main(["demo", "init", "--dir", str(folder), "--catalog", str(catalog)]) == 0
    assert "1 products" in capsys.readouterr().out
    db = folder / "kiosk.db"
    assert counts(db)["products"] == 1
    assert one_value(db, "SELECT price FROM products WHERE sku = '900001'") == 350


def test_demo_init_stores_no_raw_member_phone_number(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", "init", "--dir", str(folder)]) == 0
    text = (DEMO / "members.csv").read_text(encoding="utf-8")
    phones = [row["phone"] for row in csv.DictReader(io.StringIO(text)) if row["phone"]]
    assert len(phones) == 4
    data = db_bytes(folder)
    for phone in phones:
        digits = re.sub(r"\D", "", phone)
        for form in {phone, digits, digits[-8:]}:
            assert form.encode() not in data, f"{form} is in kiosk.db"
            assert form.encode("utf-16-le") not in data


# ------------------------------------------------------------------------------ catalog import
def test_catalog_import_replaces_the_catalog(
    config: str, kiosk_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "new.csv"
    source.write_text(
        CATALOG_HEADER
        + "100001,6921168509256,,Drinks,ea,2.20,VAT13,0,0,0,农夫山泉,Nongfu Spring water\n"
        + "200001,,20001,Fruit,kg,9.90,VAT9,0,0,0,苹果,Apple\n",
        encoding="utf-8",
    )
    assert main(["catalog", "import", str(source), "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith("imported 2 products (1 GTINs) in ")
    assert out.rstrip().endswith("replaced 300")
    db = kiosk_dir / "kiosk.db"
    assert counts(db)["products"] == 2
    assert one_value(db, "SELECT price FROM products WHERE sku = '100001'") == 220
    assert one_value(db, "SELECT sku FROM products WHERE plu = '20001'") == "200001"


def test_catalog_import_of_a_bad_file_names_the_line_and_keeps_the_catalog(
    config: str, kiosk_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = kiosk_dir / "kiosk.db"
    before = counts(db)
    source = tmp_path / "bad.csv"
    source.write_text(
        CATALOG_HEADER
        + "100001,6921168509256,,Drinks,ea,2.20,VAT13,0,0,0,农夫山泉,Water\n"
        + "100002,,,Drinks,ea,two yuan,VAT13,0,0,0,啤酒,Beer\n",
        encoding="utf-8",
    )
    assert main(["catalog", "import", str(source), "--config", config]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("kiosk: catalog import refused, nothing changed: 1 problem(s)")
    assert "line 3: " in captured.err
    assert "'two yuan'" in captured.err
    assert counts(db) == before
    assert one_value(db, "SELECT price FROM products WHERE sku = '100001'") == 200


def test_catalog_import_of_a_missing_file_exits_1(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalog", "import", str(tmp_path / "nope.csv"), "--config", config]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kiosk: file import refused, nothing changed")
    assert "cannot open" in err


# ------------------------------------------------------------------------------ staff / members
def test_staff_import_replaces_the_staff(
    config: str, kiosk_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "staff.csv"
    source.write_text(
        "staff_id,name,role,badge,pin\nE10,张伟,supervisor,ST0010,80808\nE11,Li,attendant,,4321\n",
        encoding="utf-8",
    )
    assert main(["staff", "import", str(source), "--config", config]) == 0
    assert capsys.readouterr().out == "imported 2 staff\n"
    db = kiosk_dir / "kiosk.db"
    assert counts(db)["staff"] == 2
    assert one_value(db, "SELECT role FROM staff WHERE badge = 'ST0010'") == "supervisor"
    pin_hash = one_value(db, "SELECT pin_hash FROM staff WHERE staff_id = 'E10'")
    assert isinstance(pin_hash, str)
    assert "80808" not in pin_hash


def test_staff_import_of_a_bad_file_names_the_line_and_keeps_the_staff(
    config: str, kiosk_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "staff.csv"
    source.write_text(
        "staff_id,name,role,badge,pin\nE10,A,attendant,ST0010,8080\nE11,B,boss,,12\n",
        encoding="utf-8",
    )
    assert main(["staff", "import", str(source), "--config", config]) == 1
    err = capsys.readouterr().err
    assert "line 3: role 'boss' must be attendant or supervisor" in err
    assert "line 3: pin must be at least 4 digits" in err
    assert counts(kiosk_dir / "kiosk.db")["staff"] == 3


def test_members_import_keeps_no_raw_phone_number(
    config: str, kiosk_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    phones = ["+86 139-1234-5678", "13987654321", "(0)21 5555 0199"]
    source = tmp_path / "members.csv"
    source.write_text(
        "member_id,code,phone,level,name\n"
        + "".join(f'C9{n},M99999{n},"{phone}",gold,N{n}\n' for n, phone in enumerate(phones))
        + "C99,M9999999,,,No Phone\n",
        encoding="utf-8",
    )
    assert main(["members", "import", str(source), "--config", config]) == 0
    assert capsys.readouterr().out == "imported 4 members\n"
    db = kiosk_dir / "kiosk.db"
    assert counts(db)["members"] == 4
    assert one_value(db, "SELECT masked_phone FROM members WHERE member_id = 'C91'") == (
        "139****4321"
    )
    data = db_bytes(kiosk_dir)
    for phone in phones:
        digits = re.sub(r"\D", "", phone)
        for form in {phone, digits, re.sub(r"[\s().-]", "", phone), digits[3:]}:
            assert form.encode() not in data, f"{form} is in kiosk.db"


def test_members_import_of_a_bad_file_names_the_line(
    config: str, kiosk_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "members.csv"
    source.write_text(
        "member_id,code,phone,level,name\nC90,M999990,1234,gold,A\n", encoding="utf-8"
    )
    assert main(["members", "import", str(source), "--config", config]) == 1
    assert "line 2: phone number must be 5-20 digits" in capsys.readouterr().err
    assert counts(kiosk_dir / "kiosk.db")["members"] == 4


# ------------------------------------------------------------------------------ db check
def test_db_check_is_ok_on_a_kiosk_with_sales(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sell_demo_basket(config, monkeypatch)
    sell_demo_basket(config, monkeypatch)
    capsys.readouterr()
    assert main(["db", "check", "--config", config]) == 0
    assert capsys.readouterr().out == (
        f"schema {SCHEMA_VERSION}, 2 journal entries (last seq 2), 2 sales: ok\n"
    )


def test_db_check_fails_after_a_sales_body_is_tampered_with(
    config: str,
    kiosk_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sell_demo_basket(config, monkeypatch)
    conn = sqlite3.connect(kiosk_dir / "kiosk.db")
    with conn:
        changed = conn.execute(
            "UPDATE sales SET body = replace(body, '\"amount\":400', '\"amount\":300')"
        ).rowcount
    conn.close()
    assert changed == 1
    capsys.readouterr()
    assert main(["db", "check", "--config", config]) == 1
    out = capsys.readouterr().out
    assert "seq 1" in out
    assert not out.rstrip().endswith(": ok")


def test_db_check_without_a_database_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
    assert main(["db", "check", "--config", str(path)]) == 1
    assert capsys.readouterr().err == f"kiosk: {tmp_path / 'data' / 'kiosk.db'} does not exist\n"


# ------------------------------------------------------------------------------ backup / restore
def test_backup_while_another_connection_writes_then_restore(
    config: str,
    kiosk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = kiosk_dir / "kiosk.db"
    sell_demo_basket(config, monkeypatch)
    backups = tmp_path / "backups"
    backups.mkdir()
    stop, wrote = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    written: list[int] = []

    def keep_writing() -> None:
        conn = sqlite3.connect(db, timeout=10)
        try:
            while not stop.is_set():
                with conn:
                    conn.execute("INSERT INTO audit (kind, detail) VALUES ('test', 'busy')")
                written.append(1)
                wrote.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            wrote.set()
            conn.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        assert wrote.wait(timeout=30)
        capsys.readouterr()
        assert main(["db", "backup", str(backups), "--config", config]) == 0
    finally:
        stop.set()
        writer.join()
    assert errors == []
    assert len(written) >= 1
    out = capsys.readouterr().out
    made = list(backups.iterdir())
    assert len(made) == 1
    assert made[0].name.startswith("kiosk-")
    assert made[0].suffix == ".db"
    assert out.startswith(f"backup written: {made[0]} (")
    assert out.rstrip().endswith(f"schema {SCHEMA_VERSION}, last seq 1)")
    # A second sale after the backup, then restore: back to one sale.
    sell_demo_basket(config, monkeypatch)
    assert counts(db)["sales"] == 2
    capsys.readouterr()
    assert main(["db", "restore", str(made[0]), "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"restored {made[0]} -> {db} (last seq 1); previous database kept as ")
    saved = Path(out.rstrip().rsplit(" ", 1)[1])
    assert saved.exists()
    assert counts(saved)["sales"] == 2
    assert counts(db)["sales"] == 1
    assert main(["db", "check", "--config", config]) == 0
    assert capsys.readouterr().out.endswith("1 sales: ok\n")


def test_backup_while_a_write_transaction_is_open_is_consistent(
    config: str, kiosk_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = kiosk_dir / "kiosk.db"
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO audit (kind, detail) VALUES ('test', 'uncommitted')")
        target = tmp_path / "copy.db"
        assert main(["db", "backup", str(target), "--config", config]) == 0
        holder.execute("COMMIT")
    finally:
        holder.close()
    assert capsys.readouterr().out.startswith(f"backup written: {target} (")
    assert one_value(target, "SELECT count(*) FROM audit WHERE detail = 'uncommitted'") == 0
    assert one_value(db, "SELECT count(*) FROM audit WHERE detail = 'uncommitted'") == 1


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"this is not a database at all, just some text\n" * 100, "is not a kiosk.db backup"),
        (b"", "is not a kiosk.db backup (no schema)"),
    ],
)
def test_restore_of_a_garbage_file_is_refused_and_changes_nothing(
    config: str,
    kiosk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    problem: str,
) -> None:
    db = kiosk_dir / "kiosk.db"
    before = db.read_bytes()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(content)
    assert main(["db", "restore", str(garbage), "--config", config]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"kiosk: {garbage}")
    assert problem in err
    assert db.read_bytes() == before
    assert not list(kiosk_dir.glob("kiosk.db.pre-restore-*"))


def test_restore_of_a_missing_file_is_refused(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    assert main(["db", "restore", str(missing), "--config", config]) == 1
    assert capsys.readouterr().err == f"kiosk: no backup file at {missing}\n"


def test_console_script_db_check_and_backup(config: str, tmp_path: Path) -> None:
    check = run_script("db", "check", "--config", config)
    assert (check.returncode, check.stderr) == (0, "")
    assert check.stdout == f"schema {SCHEMA_VERSION}, 0 journal entries (last seq 0), 0 sales: ok\n"
    made = run_script("db", "backup", str(tmp_path), "--config", config)
    assert made.returncode == 0, made.stderr
    assert len(list(tmp_path.glob("kiosk-*.db"))) == 1


def test_console_script_runs_with_python_dash_m(config: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "config", "check", config],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert ": ok (store s0001" in done.stdout
