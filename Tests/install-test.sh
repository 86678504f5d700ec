#!/bin/sh
# make install into a temporary root, then use what was installed: the
# binary needs no Swift runtime, starts, reports on and stops a real service
# (python3 -m http.server when there is a python3, else sleep), the init
# script and the unit name the installed binary, man -l renders every page,
# and make uninstall removes it all again.
set -eu
cd "$(dirname "$0")/.."

root=$(mktemp -d /tmp/swiftd-install-XXXXXX)
state="$root/state"
prefix=/opt/swiftd
bin="$root$prefix/bin/swiftd"
failures=0

fail() {
    echo "install-test: FAIL: $*" >&2
    failures=$((failures + 1))
}

cleanup() {
    if [ -x "$bin" ]; then
        "$bin" stop web --run-dir "$state/run" --log-dir "$state/log" >/dev/null 2>&1 || true
        "$bin" stop example --run-dir "$state/run" --log-dir "$state/log" --config-dir "$state/conf" >/dev/null 2>&1 || true
    fi
    rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Expects "$@" to exit with status $expected.
expect() {
    expected=$1
    shift
    set +e
    "$@" >"$root/out" 2>&1
    status=$?
    set -e
    if [ "$status" -ne "$expected" ]; then
        fail "$* exited $status, not $expected: $(cat "$root/out")"
    fi
}

started=$(date +%s)
make install DESTDIR="$root" PREFIX="$prefix"

# What was installed, where.
for file in "$prefix/bin/swiftd" "$prefix/share/man/man1/swiftd.1" "$prefix/share/man/man5/swiftd.conf.5" \
    "$prefix/share/man/man3/Daemonize.3" /etc/swiftd/example.conf /etc/init.d/swiftd-example \
    "$prefix/lib/systemd/system/swiftd@.service" "$prefix/share/bash-completion/completions/swiftd" \
    "$prefix/share/zsh/site-functions/_swiftd" "$prefix/share/fish/vendor_completions.d/swiftd.fish" /etc/logrotate.d/swiftd; do
    [ -f "$root$file" ] || fail "not installed: $file"
done
[ -x "$root/etc/init.d/swiftd-example" ] || fail "the init script is not executable"
grep -q "SWIFTD:-$prefix/bin/swiftd}" "$root/etc/init.d/swiftd-example" || fail "the init script does not name $prefix/bin/swiftd"
grep -qx "ExecStart=$prefix/bin/swiftd run %i" "$root$prefix/lib/systemd/system/swiftd@.service" || fail "the unit does not run $prefix/bin/swiftd"
grep -q "        $prefix/bin/swiftd reopen " "$root/etc/logrotate.d/swiftd" || fail "the logrotate file does not name $prefix/bin/swiftd"
# logrotate reads the installed file without a complaint.
if [ -x /usr/sbin/logrotate ]; then
    /usr/sbin/logrotate --debug --state "$root/logrotate.state" "$root/etc/logrotate.d/swiftd" >"$root/out" 2>&1 \
        || fail "logrotate --debug refuses the installed file: $(cat "$root/out")"
    grep -qi "error" "$root/out" && fail "logrotate --debug: $(cat "$root/out")"
fi

# No Swift runtime, no shared library at all: the binary is fully static.
linked=$(ldd "$bin" 2>&1 || true)
case "$linked" in
    *"not a dynamic executable"*) ;;
    *) fail "swiftd is not fully static: $linked" ;;
esac
echo "installed swiftd: $(wc -c < "$bin") bytes; ldd: $linked"
expect 0 "$bin" --version
# The static binary takes argv from .init_array (Sources/SwiftdArguments), not
# as the runtime would: every argument reaches the service as it was given.
expect 0 "$bin" run argv --run-dir "$state/run" --log-dir "$state/log" --restart no --min-uptime 0 \
    -- sh -c 'printf "%s|" "$@" > "$0"' "$root/argv" "a b" "" "é" "--x=1"
[ "$(cat "$root/argv" 2>/dev/null)" = "a b||é|--x=1|" ] || fail "the arguments did not reach the service as given: $(cat "$root/argv" 2>/dev/null)"

# A real service, with the installed binary.
dirs="--run-dir $state/run --log-dir $state/log"
if command -v python3 >/dev/null 2>&1; then
    # Port 0: the kernel picks a free port, which the server prints in its log.
    expect 0 "$bin" start web $dirs --chdir "$root" -- python3 -u -m http.server 0 --bind 127.0.0.1
    port=
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*Serving HTTP on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$state/log/web.log" 2>/dev/null | tail -n 1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        fail "the web server did not say its port: $(cat "$state/log/web.log" 2>/dev/null)"
    elif ! python3 -c "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:$port/').status == 200 else 1)"; then
        fail "the web server on port $port does not answer"
    else
        echo "install-test: python3 -m http.server under the installed swiftd answered on port $port"
    fi
else
    echo "install-test: no python3; the service is sleep"
    expect 0 "$bin" start web $dirs -- sleep 600
fi
expect 0 "$bin" status web $dirs
grep -q '^web: running (pid [0-9]*)' "$root/out" || fail "status: $(cat "$root/out")"
pid=$(cat "$state/run/web.pid")
expect 0 "$bin" stop web $dirs
kill -0 "$pid" 2>/dev/null && fail "pid $pid still runs after stop"
expect 3 "$bin" status web $dirs

# The installed init script, with the installed binary and example.conf's format.
mkdir -p "$state/conf"
echo "command = sleep 600" > "$state/conf/example.conf"
export SWIFTD_RUN_DIR="$state/run" SWIFTD_LOG_DIR="$state/log" SWIFTD_CONFIG_DIR="$state/conf" SWIFTD="$bin"
expect 0 "$root/etc/init.d/swiftd-example" start
expect 0 "$root/etc/init.d/swiftd-example" status
expect 0 "$root/etc/init.d/swiftd-example" stop
expect 3 "$root/etc/init.d/swiftd-example" status
unset SWIFTD_RUN_DIR SWIFTD_LOG_DIR SWIFTD_CONFIG_DIR SWIFTD
expect 0 "$bin" check example --config-dir "$root/etc/swiftd" --run-dir "$state/run" --log-dir "$state/log"

# man -l renders every page, without a warning from groff.
for page in man1/swiftd.1 man5/swiftd.conf.5 man3/Daemonize.3; do
    if ! MANWIDTH=80 man --warnings -P cat -l "$root$prefix/share/man/$page" >"$root/page" 2>"$root/page.err"; then
        fail "man -l $page failed: $(cat "$root/page.err")"
    fi
    [ -s "$root/page.err" ] && fail "man -l $page warns: $(cat "$root/page.err")"
    grep -q '^NAME' "$root/page" || fail "man -l $page rendered no NAME section"
    grep -q '^SEE ALSO' "$root/page" || fail "man -l $page rendered no SEE ALSO section"
done

# make uninstall leaves no file behind.
make uninstall DESTDIR="$root" PREFIX="$prefix"
left=$(find "$root/opt" "$root/etc" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"

if [ "$failures" -ne 0 ]; then
    echo "install-test: $failures failure(s)" >&2
    exit 1
fi
echo "install-test: passed in $(($(date +%s) - started))s (make install, start/status/stop, init script, man -l, uninstall)"
