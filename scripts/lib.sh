# Shared by scripts/crashloop, scripts/test and the benchmarks: install what is
# missing (Debian's packages, when root), configure and build once.
set -euo pipefail
CRASHLOOP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CRASHLOOP_BUILD=${CRASHLOOP_BUILD_DIR:-$CRASHLOOP_ROOT/build}

CRASHLOOP_PACKAGES=(cmake ninja-build g++ pkg-config systemd
  libboost1.81-dev libspdlog-dev libfmt-dev libsystemd-dev libtomlplusplus-dev
  libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev)

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
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

crashloop_build() {
  if [ ! -f "$CRASHLOOP_BUILD/build.ninja" ]; then
    cmake -S "$CRASHLOOP_ROOT" -B "$CRASHLOOP_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  cmake --build "$CRASHLOOP_BUILD" -- -j"$(nproc)" >&2
}
