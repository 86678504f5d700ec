#!/bin/sh
# make deb, then use the package as an administrator would: dpkg installs it
# (into an empty root of its own, with its own dpkg database: the machine's
# is left alone), the installed swiftd starts, reports on and stops a real
# service, the conffiles are marked, and dpkg --purge leaves no file behind.
set -eu
cd "$(dirname "$0")/.."

root=$(mktemp -d /tmp/swiftd-deb-XXXXXX)
state="$root/state"
failures=0

fail() {
    echo "deb-test: FAIL: $*" >&2
    failures=$((failures + 1))
}

cleanup() {
    if [ -x "$root/usr/bin/swiftd" ]; then
        "$root/usr/bin/swiftd" stop web --run-dir "$state/run" --log-dir "$state/log" >/dev/null 2>&1 || true
    fi
    rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

started=$(date +%s)
make --no-print-directory deb
deb=$(ls .build-deb/swiftd_*.deb)

# What the package says and holds.
info=$(dpkg-deb --info "$deb")
echo "$info" | grep -q "Package: swiftd" || fail "no Package: swiftd in $deb"
for conffile in /etc/swiftd/example.conf /etc/init.d/swiftd-example; do
    dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | grep -qx "$conffile" || fail "$conffile is not a conffile"
done
contents=$(dpkg-deb --contents "$deb")
for file in ./usr/bin/swiftd ./usr/share/man/man1/swiftd.1.gz ./usr/share/man/man5/swiftd.conf.5.gz ./usr/share/man/man3/Daemonize.3.gz \
    ./usr/share/bash-completion/completions/swiftd ./usr/share/zsh/site-functions/_swiftd ./usr/share/fish/vendor_completions.d/swiftd.fish \
    ./lib/systemd/system/swiftd@.service ./etc/init.d/swiftd-example ./etc/swiftd/example.conf ./usr/share/doc/swiftd/copyright; do
    echo "$contents" | grep -q " $file\$" || fail "not in the package: $file"
done
echo "$contents" | grep -v ' root/root ' | grep -q . && fail "files not owned by root: $(echo "$contents" | grep -v ' root/root ')"

# Installed by dpkg into an empty root.
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
: > "$root/var/lib/dpkg/status"
dpkg --root="$root" --install "$deb" >/dev/null || fail "dpkg --install failed"
dpkg --root="$root" --status swiftd | grep -q "Status: install ok installed" || fail "dpkg does not say swiftd is installed"
grep -q "SWIFTD:-/usr/bin/swiftd}" "$root/etc/init.d/swiftd-example" || fail "the init script does not name /usr/bin/swiftd"
grep -qx "ExecStart=/usr/bin/swiftd run %i" "$root/lib/systemd/system/swiftd@.service" || fail "the unit does not run /usr/bin/swiftd"
man -l "$root/usr/share/man/man1/swiftd.1.gz" >/dev/null 2>&1 || fail "man cannot render the installed swiftd.1.gz"

# The installed swiftd runs a service.
bin="$root/usr/bin/swiftd"
dirs="--run-dir $state/run --log-dir $state/log"
"$bin" start web $dirs -- sleep 300 >"$root/out" 2>&1 || fail "start: $(cat "$root/out")"
"$bin" status web $dirs >"$root/out" 2>&1 || fail "status: $(cat "$root/out")"
grep -q "web: running" "$root/out" || fail "status says: $(cat "$root/out")"
"$bin" stop web $dirs >"$root/out" 2>&1 || fail "stop: $(cat "$root/out")"
rm -rf "$state"

# Purged: nothing left but dpkg's own database.
dpkg --root="$root" --purge swiftd >/dev/null || fail "dpkg --purge failed"
left=$(cd "$root" && find . ! -path ./var/lib/dpkg ! -path './var/lib/dpkg/*' ! -path . ! -path ./var ! -path ./var/lib ! -path ./out)
[ -z "$left" ] || fail "dpkg --purge left: $left"

size=$(wc -c < "$deb")
[ "$failures" -eq 0 ] || exit 1
echo "deb-test: passed in $(($(date +%s) - started))s ($deb, $size bytes: install, start/status/stop, purge)"
