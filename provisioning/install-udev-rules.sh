#!/usr/bin/env bash
# Install the kiosk's udev rules (provisioning/udev/*.rules): stable names and permissions for
# barcode scanners (/dev/kiosk-scanner-N, group dialout; HID scanners in group input, tagged
# KIOSK_SCANNER=hid), receipt printers (/dev/kiosk-printer, group lp) and GPIO (group gpio).
# See docs/hardware.md, "Stable device names and permissions".
#
# Idempotent: a rules file is copied only when it differs from the installed one, a missing
# group is created once, and running it again changes nothing. On the live system it then
# reloads udev and re-triggers the devices already plugged in, so nothing needs a reboot.
# Where udev is not running (a container, CI, an image being built in a chroot) it says so and
# skips the reload: the rules apply when udev next starts.
#
# Needs root for /etc/udev/rules.d: runs through sudo otherwise (`sudo -n` when there is no
# terminal to type a password on), and exits non-zero with a message when it can do neither.
#
#     provisioning/install-udev-rules.sh               install into /etc/udev/rules.d, reload
#     provisioning/install-udev-rules.sh --user kiosk  also add user kiosk to the rules' groups
#     provisioning/install-udev-rules.sh --dest DIR    only copy the rules into DIR (an image
#                                                      being built, tests): no groups, no reload
#     provisioning/install-udev-rules.sh --check       exit 1 unless every rule is installed
#                                                      as shipped (combine with --dest DIR)
set -euo pipefail

NAME="install-udev-rules.sh"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/udev"
SYSTEM_DEST="/etc/udev/rules.d"

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

die() {
    echo "$NAME: $*" >&2
    exit 1
}

dest="$SYSTEM_DEST"
user=""
check=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dest)
            [[ $# -ge 2 && -n "$2" ]] || { echo "$NAME: --dest needs a folder" >&2; exit 2; }
            dest="$2"
            shift 2
            ;;
        --user)
            [[ $# -ge 2 && -n "$2" ]] || { echo "$NAME: --user needs a user name" >&2; exit 2; }
            user="$2"
            shift 2
            ;;
        --check)
            check=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "$NAME: unknown argument '$1' (use --dest DIR, --user NAME, --check or --help)" >&2
            exit 2
            ;;
    esac
done

shopt -s nullglob
RULES=("$SRC"/*.rules)
shopt -u nullglob
[[ ${#RULES[@]} -gt 0 ]] || die "no rules files in $SRC (is the repository complete?)"

live=0
[[ "$dest" == "$SYSTEM_DEST" ]] && live=1
if [[ $live -eq 0 && -n "$user" ]]; then
    echo "$NAME: --user only applies to the live system, not to --dest $dest" >&2
    exit 2
fi

# The groups the rules hand devices to (GROUP="..."), sorted, once each.
mapfile -t GROUPS_NEEDED < <(grep -ho 'GROUP="[^"]*"' "${RULES[@]}" | cut -d'"' -f2 | sort -u)

if [[ $check -eq 1 ]]; then
    stale=0
    for rules in "${RULES[@]}"; do
        target="$dest/$(basename "$rules")"
        if ! cmp -s "$rules" "$target"; then
            echo "$NAME: $target is missing or differs from $rules"
            stale=1
        fi
    done
    if [[ $live -eq 1 ]]; then
        for group in "${GROUPS_NEEDED[@]}"; do
            getent group "$group" >/dev/null || { echo "$NAME: group $group is missing"; stale=1; }
        done
    fi
    [[ $stale -eq 0 ]] && echo "$NAME: all ${#RULES[@]} rules files are installed in $dest"
    exit $stale
fi

# Become root when the destination needs it (the live system always does: groups, udevadm).
if [[ $live -eq 1 || ! -w "$dest" ]] && [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        exec sudo -n "$0" --dest "$dest" ${user:+--user "$user"}
    elif command -v sudo >/dev/null 2>&1 && [[ -t 0 ]]; then
        echo "$NAME: sudo will ask for your password to install into $dest."
        exec sudo "$0" --dest "$dest" ${user:+--user "$user"}
    fi
    die "cannot write $dest: not root, and sudo is missing or needs a password with no" \
        "terminal to type it on. Run as root: sudo $0${user:+ --user $user}"
fi

mkdir -p "$dest"
changed=0
for rules in "${RULES[@]}"; do
    target="$dest/$(basename "$rules")"
    if cmp -s "$rules" "$target"; then
        echo "$NAME: $target unchanged"
    else
        install -m 0644 "$rules" "$target"
        echo "$NAME: installed $target"
        changed=1
    fi
done

if [[ $live -eq 0 ]]; then
    echo "$NAME: rules copied into $dest only (--dest): groups and udev left alone."
    echo "$NAME: the devices' groups are: ${GROUPS_NEEDED[*]}"
    exit 0
fi

for group in "${GROUPS_NEEDED[@]}"; do
    if ! getent group "$group" >/dev/null; then
        groupadd --system "$group"
        echo "$NAME: created system group $group"
    fi
done

if [[ -n "$user" ]]; then
    id "$user" >/dev/null 2>&1 || die "user '$user' does not exist (create the kiosk user first)"
    for group in "${GROUPS_NEEDED[@]}"; do
        if id -nG "$user" | tr ' ' '\n' | grep -qx "$group"; then
            echo "$NAME: $user is already in group $group"
        else
            usermod -aG "$group" "$user"
            echo "$NAME: added $user to group $group (takes effect at $user's next login)"
        fi
    done
fi

if ! command -v udevadm >/dev/null 2>&1; then
    echo "$NAME: udevadm not found (a container or CI?): rules installed, udev not reloaded;"
    echo "$NAME: they apply when udev next starts (or after a reboot)."
    exit 0
fi
if [[ ! -S /run/udev/control ]]; then
    echo "$NAME: udev is not running here (no /run/udev/control; a container or chroot?):"
    echo "$NAME: rules installed, not reloaded; they apply when udev next starts."
    exit 0
fi
udevadm control --reload
udevadm trigger
udevadm settle --timeout=10 || echo "$NAME: udev is still busy after 10 s; the links follow shortly"
if [[ $changed -eq 1 ]]; then
    echo "$NAME: udev rules reloaded and devices re-triggered."
else
    echo "$NAME: rules were already installed; udev reloaded and devices re-triggered anyway."
fi
