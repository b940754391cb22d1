#!/usr/bin/env bash
# Install the Debian 12 / Raspberry Pi OS (bookworm) system packages the kiosk project needs.
#
# Idempotent and quick: it asks dpkg which packages are missing and runs apt-get (update, then
# install) only for those. When everything is present it needs no network and changes nothing.
# Non-interactive (DEBIAN_FRONTEND=noninteractive, no stdin needed), so it works in CI.
# It starts no service itself. Note that Debian's own package scripts enable and start the
# mosquitto, postgresql and supervisor system services when they are first installed on a host
# that runs systemd; the tests start their own instances on their own ports and do not use them.
#
# Runs apt-get directly as root, through sudo otherwise (`sudo -n` when there is no terminal to
# type a password on). Exits non-zero with a message naming the missing packages when it can
# do neither, or when the machine has no dpkg/apt-get.
#
# Called by `make deps` (and so by `make run` and `make test`); safe to run by hand:
#     provisioning/install-deps.sh          install what is missing
#     provisioning/install-deps.sh --check  only report what is missing (exit 1 if anything is)
#     provisioning/install-deps.sh --list   print the package list, one per line
set -euo pipefail

# Every system package the project needs, with the reason for each. Keep this ONE array:
# tests/test_tooling.py reads it.
PACKAGES=(
    python3-venv        # `python3 -m venv .venv`
    python3-dev         # headers for Python packages without a wheel here (RPi.GPIO on the Pi)
    build-essential     # compiler for those packages (RPi.GPIO ships only a source archive)
    sqlite3             # the sqlite3 shell, for inspecting and repairing kiosk.db by hand
    mosquitto           # MQTT broker: the store broker, and the tests' own broker instances
    mosquitto-clients   # mosquitto_pub / mosquitto_sub for field diagnostics
    postgresql          # PostgreSQL server: the central consumers' production database and its tests
    postgresql-contrib  # PostgreSQL extensions shipped with the server
    xvfb                # virtual X display: Kivy UI tests and headless screenshots
    xauth               # needed by xvfb-run (installed without recommends)
    libgl1              # libGL.so.1, loaded by the SDL2 bundled in the Kivy wheel
    libegl1             # libEGL.so.1, for SDL2 on KMS/DRM and Wayland (the Pi's touchscreen)
    libgl1-mesa-dri     # Mesa drivers: llvmpipe software rendering under Xvfb, V3D on the Pi
    libx11-6            # X11 client library, linked by the Kivy wheel's SDL2
    libxext6            # X11 extensions, loaded by the Kivy wheel's SDL2 X11 driver
    libxrender1         # X Render, linked by the Kivy wheel's SDL2
    libmtdev1           # multitouch event decoding: Kivy's mtdev input provider (touchscreen)
    xsel                # X clipboard tool: Kivy's clipboard/cutbuffer provider on X11
    fonts-noto-cjk      # Chinese glyphs for the UI (Noto Sans CJK)
    supervisor          # runs the whole local stack for development and demos
    tzdata              # IANA time zones (store.time_zone, e.g. Asia/Shanghai)
    libusb-1.0-0        # USB backend for pyusb: ESC/POS printers on USB
)

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

missing_packages() {
    local pkg status
    for pkg in "${PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
        if [[ "$status" != "installed" ]]; then
            printf '%s\n' "$pkg"
        fi
    done
}

mode="install"
case "${1:-}" in
    "") ;;
    --check) mode="check" ;;
    --list) mode="list" ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "install-deps.sh: unknown argument '$1' (use --check, --list or --help)" >&2
        exit 2
        ;;
esac

if [[ "$mode" == "list" ]]; then
    printf '%s\n' "${PACKAGES[@]}"
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps.sh: this machine has no dpkg/apt-get; it is not Debian or Raspberry Pi OS." >&2
    echo "Install these packages (or your system's equivalents) by hand:" >&2
    printf '    %s\n' "${PACKAGES[@]}" >&2
    exit 1
fi

mapfile -t MISSING < <(missing_packages)

if [[ ${#MISSING[@]} -eq 0 ]]; then
    echo "install-deps.sh: all ${#PACKAGES[@]} system packages are installed."
    exit 0
fi

echo "install-deps.sh: missing system packages: ${MISSING[*]}"
if [[ "$mode" == "check" ]]; then
    exit 1
fi

# Choose how to become root.
if [[ "$(id -u)" -eq 0 ]]; then
    AS_ROOT=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    AS_ROOT=(sudo -n)
elif command -v sudo >/dev/null 2>&1 && [[ -t 0 ]]; then
    echo "install-deps.sh: sudo will ask for your password to install them."
    AS_ROOT=(sudo)
else
    echo "install-deps.sh: cannot install: not root, and sudo is missing or needs a password" >&2
    echo "with no terminal to type it on. Install the packages as root, then run make again:" >&2
    echo "    apt-get update && apt-get install -y --no-install-recommends ${MISSING[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef
    -o Dpkg::Options::=--force-confold)

"${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update </dev/null
"${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install "${APT_OPTS[@]}" "${MISSING[@]}" </dev/null

mapfile -t STILL_MISSING < <(missing_packages)
if [[ ${#STILL_MISSING[@]} -ne 0 ]]; then
    echo "install-deps.sh: apt-get finished but these are still not installed: ${STILL_MISSING[*]}" >&2
    exit 1
fi
echo "install-deps.sh: installed ${MISSING[*]}"
