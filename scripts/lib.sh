# Shared by scripts/crashloop, scripts/test and the benchmarks: install what is
# missing (Debian's packages, when root), configure and build once.
set -euo pipefail
CRASHLOOP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CRASHLOOP_BUILD=${CRASHLOOP_BUILD_DIR:-$CRASHLOOP_ROOT/build}

CRASHLOOP_PACKAGES=(cmake ninja-build g++ pkg-config systemd
  libboost1.81-dev libspdlog-dev libfmt-dev libsystemd-dev libtomlplusplus-dev
  libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  apache2 # the real-Apache test (ctest -L apache); its own config, never the host's
  supervisor # the supervisord driver (ctest -L supervisord); its own supervisord, never the host's
  gdb logrotate # soak --real: backtraces of the cores, the real logrotate (ctest -L apache)
  runit s6 daemontools openrc) # their exec files (ctest -L foreign): supervise processes of the run's own, never the host's

crashloop_deps() {
  local missing=() pkg
  for pkg in "${CRASHLOOP_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "crashloop: missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 2
  fi
  echo "crashloop: installing ${missing[*]}" >&2
  apt-get update -qq >&2
  # A package's postinst may start its service (apache2 does, through
  # invoke-rc.d): nothing is to start on this host. A policy-rc.d that says 101
  # forbids it for the install; one already there (a container's) stays.
  local policy=/usr/sbin/policy-rc.d made_policy=0 status=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# crashloop: no service starts while its packages install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
    # Never left behind, even if the install is interrupted.
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT INT TERM
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    status=$?
  if [ "$made_policy" -eq 1 ]; then rm -f "$policy"; trap - EXIT INT TERM; fi
  return "$status"
}

crashloop_build() {
  if [ ! -f "$CRASHLOOP_BUILD/build.ninja" ]; then
    cmake -S "$CRASHLOOP_ROOT" -B "$CRASHLOOP_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  cmake --build "$CRASHLOOP_BUILD" -- -j"$(nproc)" >&2
}
