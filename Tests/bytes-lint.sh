#!/bin/sh
# Arguments, environment values and paths are bytes (ARCHITECTURE.md, "Rules the code keeps"): no
# String of the library reaches C but through withPlatformString, platformBytes or platformStringCopy
# (Sources/Daemonize/System/PlatformString.swift). A String handed to a C function directly is
# converted by the compiler, and its bytes are then those of the String's UTF-8: a byte that was not
# UTF-8 arrives as the four bytes of the scalar that holds it, and names another file.
#
# Fails on every such implicit conversion whose operand is not a plain string literal (swiftc
# -dump-ast shows them as string_to_pointer), and on withCString, utf8CString, String(cString:) and
# CommandLine.arguments in the library and the command outside PlatformString.swift (Errno's
# strerror text is the one String(cString:) allowed). Needs the debug build's modules (swift build).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
build=$(swift build --show-bin-path)
[ -f "$build/CDaemonize.build/module.modulemap" ] || swift build --target Daemonize >/dev/null
failures=0

dump=$(mktemp /tmp/swiftd-bytes-lint-XXXXXX)
trap 'rm -f "$dump"' EXIT
# shellcheck disable=SC2046
swiftc -dump-ast -module-name Daemonize -parse-as-library -swift-version 6 -package-name swiftd -D SWIFT_PACKAGE \
    -I "$build/Modules" -Xcc -fmodule-map-file="$build/CDaemonize.build/module.modulemap" \
    -Xcc -I -Xcc "$root/Sources/CDaemonize/include" -module-cache-path "$build/ModuleCache" \
    $(find Sources/Daemonize -name '*.swift' | sort) >"$dump" 2>&1 || { tail -20 "$dump"; echo "bytes-lint: swiftc -dump-ast failed" >&2; exit 1; }
conversions=$(awk '
    pending { if ($0 !~ /\(string_literal_expr /) print location; pending = 0 }
    /\(string_to_pointer / { match($0, /location=[^ ]*/); location = substr($0, RSTART + 9, RLENGTH - 9); pending = 1 }
' "$dump" | sed "s|^$root/||" | sort -u)
if [ -n "$conversions" ]; then
    echo "bytes-lint: a String handed to C without withPlatformString (see Tests/bytes-lint.sh):" >&2
    echo "$conversions" | sed 's/^/  /' >&2
    failures=1
fi
calls=$(grep -rn -E 'withCString|utf8CString|String\(cString:|CommandLine\.arguments' Sources/Daemonize Sources/swiftd \
    | grep -v -E '^Sources/Daemonize/System/PlatformString\.swift:|^[^:]*:[0-9]+: *///|^Sources/Daemonize/System/Errno\.swift:.*String\(cString: text\)' || true)
if [ -n "$calls" ]; then
    echo "bytes-lint: bytes turned into a String, or a String into bytes, past PlatformString.swift:" >&2
    echo "$calls" | sed 's/^/  /' >&2
    failures=1
fi
[ "$failures" -eq 0 ] && echo "bytes-lint: every String reaches C as the bytes it holds"
exit "$failures"
