#!/usr/bin/env bash
# `cmake --install` into a fresh prefix, then the installed crashloop, run from /, finds
# its fixture, its keeper and its scenarios relative to itself (no flags, no environment)
# and runs a matrix; `crashloop list` names the cells. And the tool alone configures
# without GoogleTest (-DBUILD_TESTING=OFF, GTest made unfindable).
set -u
crashloop=$1 source=$2
build=$(dirname "$crashloop")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0
check() { # check WHAT GOT WANT
  if [ "$2" = "$3" ]; then echo "ok   $1: $2"; else echo "FAIL $1: got '$2', expected '$3'"; failures=$((failures+1)); fi
}

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
  { echo "FAIL: cmake --install"; cat "$work/install.log"; exit 1; }
for f in bin/crashloop libexec/crashloop/fake-httpd libexec/crashloop/crashloop-sandbox \
         share/crashloop/scenarios/table.toml share/crashloop/scenarios/supervisors/runit.toml; do
  [ -e "$work/prefix/$f" ] && echo "ok   installed $f" || { echo "FAIL $f not installed"; failures=$((failures+1)); }
done
check "restart-policy.sh stays executable" \
  "$([ -x "$work/prefix/share/crashloop/scenarios/supervisors/restart-policy.sh" ] && echo yes)" yes

installed="$work/prefix/bin/crashloop"
check "crashloop list --cause table: cells" "$(cd / && env -u CRASHLOOP_LIBEXEC_DIR -u CRASHLOOP_SCENARIOS_DIR "$installed" list --cause table | wc -l)" 105
check "the first cell listed" "$(cd / && "$installed" list --cause exit-1 --restart on-failure)" "$(printf 'on-failure/exit-1\trestarts')"
(cd / && env -u CRASHLOOP_LIBEXEC_DIR -u CRASHLOOP_SCENARIOS_DIR "$installed" matrix \
  --cause exit-1,sigabrt,sigterm --restart on-failure --format json -o "$work/report.json" 2>"$work/err")
check "installed matrix: exit status" "$?" 0
check "installed matrix: passes" "$(jq .summary.pass "$work/report.json" 2>/dev/null)" 3

# Another project's CTest suite against the installed package (examples/ctest-consumer):
# one test per cell plus the matrix they share; the deliberately wrong cell fails with its
# evidence, in ctest's output and in the JUnit file.
cmake -S "$source/examples/ctest-consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
  >"$work/consumer.log" 2>&1 || { echo "FAIL: configuring the consumer"; cat "$work/consumer.log"; exit 1; }
(cd "$work/consumer" && ctest --output-on-failure --output-junit "$work/junit.xml" >"$work/ctest.log" 2>&1)
check "the consumer's ctest fails (one cell is wrong)" "$([ $? -ne 0 ] && echo failed)" failed
check "the consumer's tests" "$(ctest --test-dir "$work/consumer" -N | sed -n 's/^Total Tests: //p')" 3
check "the consumer's failed tests" "$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Failed).*/\1/p' "$work/ctest.log" | tr '\n' ' ')" "tiny/no/exit-1 "
grep -q "no/exit-1: fail — the manual says it stays down, tiny restarted it" "$work/ctest.log"
check "the failure's verdict in ctest's output" "$?" 0
grep -q "evidence: pids" "$work/ctest.log"
check "the failure's evidence in ctest's output" "$?" 0
grep -q "tiny restarted it" "$work/junit.xml"
check "the failure in the JUnit file" "$?" 0
[ $failures -eq 0 ] || cat "$work/ctest.log"

# The tool alone: no GoogleTest asked for.
cmake -S "$source" -B "$work/alone" -G Ninja -DBUILD_TESTING=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON >"$work/alone.log" 2>&1
check "configure with BUILD_TESTING=OFF and no GoogleTest" "$?" 0
[ $failures -eq 0 ] || { cat "$work/err" "$work/alone.log" 2>/dev/null | tail -20; }
[ $failures -eq 0 ]
