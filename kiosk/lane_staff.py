"""Staff sessions at the lane: log in by badge or PIN, lockout, log out. Pure core.

Called on the lane thread by ``kiosk.checkout.Lane`` for the ``staff_login`` and
``staff_logout`` commands and for staff badges scanned at the kiosk. PINs are checked with
``kiosk.staff.verify_pin`` (a slow KDF); after ``staff.max_failures`` wrong PINs in a row the
staff member is locked out for ``staff.lockout_s``. The session itself (``Lane.attendant``) is
deliberately not saved: after a restart an attendant logs in again. Logins, logouts and failed
PINs are audit rows in kiosk.db.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from kiosk.errors import AuthError, InvalidCommand
from kiosk.lane_protocol import Command, wrong_state
from kiosk.staff import StaffMember, verify_pin

if TYPE_CHECKING:
    from kiosk.checkout import Lane


class StaffSession:
    """Who is logged in at one lane (``lane.attendant``) and how they got there."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    def cmd_staff_login(self, command: Command) -> None:
        by_pin = "staff_id" in command.args or "pin" in command.args
        if "badge" in command.args:
            if by_pin:
                raise InvalidCommand("staff_login takes 'badge', or 'staff_id' and 'pin', not both")
            self.login_badge(command.text("badge"))
            return
        if "staff_id" not in command.args or "pin" not in command.args:
            raise InvalidCommand("staff_login needs 'badge', or 'staff_id' and 'pin'")
        lane = self.lane
        staff_id, pin = command.text("staff_id"), command.text("pin")
        staff = lane.deps.staff.by_id(staff_id)
        if staff is None or staff.pin_hash is None:
            raise AuthError("unknown staff id or no PIN set")
        pin_hash = staff.pin_hash
        now = lane.deps.clock.now()
        if staff.is_locked(now):
            assert staff.locked_until is not None
            wait = int((staff.locked_until - now).total_seconds()) + 1
            raise AuthError(
                f"{staff_id} is locked out after too many wrong PINs; try again in {wait} s"
            )
        if staff.locked_until is not None:
            # The lockout is over: a fresh run of attempts, as after a correct PIN.
            lane.deps.staff.reset_login_failures(staff_id)
            staff = replace(staff, failures=0, locked_until=None)
        if not verify_pin(pin, pin_hash):
            cfg = lane.config.staff
            lock = (
                now + timedelta(seconds=cfg.lockout_s)
                if staff.failures + 1 >= cfg.max_failures
                else None
            )
            count = lane.deps.staff.record_login_failure(staff_id, lock)
            lane.deps.store.record_audit("login_failed", {"staff": staff_id, "failures": count})
            raise AuthError("wrong PIN" + (" - now locked out" if lock else ""))
        lane.deps.staff.reset_login_failures(staff_id)
        self._logged_in(staff, "pin")

    def login_badge(self, badge: str) -> None:
        """A staff badge typed or scanned: log in, or log out when it is the attendant's own."""
        lane = self.lane
        staff = lane.deps.staff.by_badge(badge)
        if staff is None:
            raise AuthError("unknown staff badge")
        if lane.attendant is not None and lane.attendant.staff_id == staff.staff_id:
            self.cmd_staff_logout(Command("staff_logout", {}))
            return
        if staff.is_locked(lane.deps.clock.now()):
            raise AuthError(f"{staff.staff_id} is locked out after too many wrong PINs")
        self._logged_in(staff, "badge")

    def _logged_in(self, staff: StaffMember, how: str) -> None:
        lane = self.lane
        if lane.attendant is not None:  # one attendant at a time: the other one leaves
            self.cmd_staff_logout(Command("staff_logout", {}))
        lane.deps.store.record_audit("login", {"staff": staff.staff_id, "how": how})
        lane.attendant = staff  # only once the login is on record
        lane.emit("staff_logged_in", staff=staff.staff_id, name=staff.name, role=staff.role)

    def cmd_staff_logout(self, _command: Command) -> None:
        lane = self.lane
        if lane.attendant is None:
            raise wrong_state("no attendant is logged in")
        staff_id = lane.attendant.staff_id
        lane.attendant = None  # logged out even if the record below fails
        lane.deps.store.record_audit("logout", {"staff": staff_id})
        lane.emit("staff_logged_out", staff=staff_id)
