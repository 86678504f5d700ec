# swiftd: build, install and check.
#
#   make                          release build of swiftd (Swift runtime linked in statically)
#   make install PREFIX=/usr/local DESTDIR=
#   make uninstall PREFIX=/usr/local DESTDIR=
#   make check                    the project's tests: test, examples, lint, install-test, stress, fuzz
#   make venv                     the real servers the tests run (gunicorn, uvicorn) in .build-venv
#   make examples                 builds the library's example package (Examples/) and runs its tests
#   make deb                      a Debian package in .build-deb/ (dpkg-deb)
#   make stress                   the reliability tests longer than a minute
#   make fuzz FUZZ_SECONDS=60     every libFuzzer target in Tests/Fuzz, this long each

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
# swiftd reads /etc/swiftd whatever the prefix; the init script belongs in /etc/init.d.
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DESTDIR    ?=

SWIFT      ?= swift
MANDOC     ?= mandoc
INSTALL    ?= install
FUZZ_SECONDS ?= 60

# Fully static: no Swift runtime and no shared library needed on the target, and no
# dynamic loader at every start (about 1.5 ms less per command). Users and groups are
# read from /etc/passwd and /etc/group, not through NSS (see UserDatabase.swift).
# The Swift runtime's LibPrespecialized calls dlopen (gold used to warn about it); that
# optional lookup simply finds nothing in a static binary.
# Generic types such as [OptionSpec] get their metadata through accessor calls rather
# than by demangling a name at run time: status runs 392,857 -> 327,541 instructions (callgrind),
# without the runtime's demangler being paged in; the binary grows by 12 kB.
# Linked by lld (the toolchain's own, /opt/swift/usr/bin/ld.lld) rather than gold: its layout
# puts what a command touches in fewer pages. Page faults (perf stat): status 128 -> 116,
# --version 88 -> 78, list 134 -> 121; hyperfine medians, 1,500 runs: status 0.755 -> 0.709 ms
# (start-stop-daemon --status 0.656), --version 0.566 -> 0.556 ms. Cost: a quiet supervisor
# keeps 8 kB more of .bss resident (RssAnon 196 -> 204 kB).
# The code the commands and a supervisor run is laid out first, together (link/symbols.txt,
# written by link/order): fewer 64 kB blocks of code to fault in. Page faults (perf stat, 40
# runs): --version 79 -> 70, status 109 -> 95, list 113 -> 101; of status's faults in code,
# 44 -> 30 (the rest are data, heap and stack, and code in the Swift library's one 1.6 MB
# section, which cannot be moved). A symbol the file names that no longer exists is skipped
# without a warning.
# The same file lays out the writable data the commands and a supervisor write first in .data
# and .bss (link/data.py): written, a page becomes the process's private copy, and these few kB
# were spread over 35 pages. A quiet supervisor's RssAnon 206 -> 149 kB (five of each, summed
# 1,032 -> 744 kB); page faults (perf stat, 100 runs) --version 70 -> 62, status 95 -> 77,
# list 108 -> 89.
ORDER_FLAGS = -Xlinker --symbol-ordering-file=$(CURDIR)/link/symbols.txt -Xlinker --no-warn-symbol-ordering
RELEASE_FLAGS = -c release --static-swift-stdlib -Xswiftc -static-executable -Xswiftc -use-ld=lld \
	-Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors $(ORDER_FLAGS)
SWIFT_RELEASE = $(SWIFT) build $(RELEASE_FLAGS) --product swiftd
MANPAGES = man/swiftd.1 man/swiftd.conf.5 man/Daemonize.3
# The samples name the swiftd they run; installed, they name $(BINDIR)/swiftd.
SUBSTITUTE = sed -e 's|/usr/local/bin/swiftd|$(BINDIR)/swiftd|g'

# One target at a time: swift build and swift test share .build.
.NOTPARALLEL:
.PHONY: all build release-flags install uninstall check test-user venv test examples lint install-test deb deb-test stress fuzz clean

all: build

# The order file is no input swift build tracks: a binary linked before it changed links again.
build:
	@b="$$($(SWIFT_RELEASE) --show-bin-path)/swiftd"; [ ! "$$b" -ot link/symbols.txt ] || rm -f "$$b"
	$(SWIFT_RELEASE)

# For bench/run, which builds swiftd as installed into a scratch path of its own.
release-flags:
	@echo $(RELEASE_FLAGS)

install: build
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSCONFDIR)/swiftd $(DESTDIR)$(SYSCONFDIR)/init.d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	$(INSTALL) -m 0755 -s "$$($(SWIFT_RELEASE) --show-bin-path)/swiftd" $(DESTDIR)$(BINDIR)/swiftd
	$(INSTALL) -m 0644 man/swiftd.1 $(DESTDIR)$(MANDIR)/man1/swiftd.1
	$(INSTALL) -m 0644 man/swiftd.conf.5 $(DESTDIR)$(MANDIR)/man5/swiftd.conf.5
	$(INSTALL) -m 0644 man/Daemonize.3 $(DESTDIR)$(MANDIR)/man3/Daemonize.3
	@# An example.conf the administrator has edited is kept.
	if [ -e $(DESTDIR)$(SYSCONFDIR)/swiftd/example.conf ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/swiftd/example.conf"; \
	else \
		$(INSTALL) -m 0644 etc/swiftd/example.conf $(DESTDIR)$(SYSCONFDIR)/swiftd/example.conf; \
	fi
	$(SUBSTITUTE) etc/init.d/swiftd-example > $(DESTDIR)$(SYSCONFDIR)/init.d/swiftd-example
	chmod 0755 $(DESTDIR)$(SYSCONFDIR)/init.d/swiftd-example
	$(SUBSTITUTE) 'etc/systemd/swiftd@.service' > '$(DESTDIR)$(UNITDIR)/swiftd@.service'
	chmod 0644 '$(DESTDIR)$(UNITDIR)/swiftd@.service'
	$(INSTALL) -m 0644 etc/bash_completion.d/swiftd $(DESTDIR)$(BASHCOMPDIR)/swiftd
	$(INSTALL) -m 0644 etc/zsh/_swiftd $(DESTDIR)$(ZSHCOMPDIR)/_swiftd
	$(INSTALL) -m 0644 etc/fish/swiftd.fish $(DESTDIR)$(FISHCOMPDIR)/swiftd.fish
	$(SUBSTITUTE) etc/logrotate.d/swiftd > $(DESTDIR)$(SYSCONFDIR)/logrotate.d/swiftd
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/logrotate.d/swiftd

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/swiftd $(DESTDIR)$(MANDIR)/man1/swiftd.1 $(DESTDIR)$(MANDIR)/man5/swiftd.conf.5 \
		$(DESTDIR)$(MANDIR)/man3/Daemonize.3 $(DESTDIR)$(SYSCONFDIR)/init.d/swiftd-example \
		'$(DESTDIR)$(UNITDIR)/swiftd@.service' $(DESTDIR)$(BASHCOMPDIR)/swiftd $(DESTDIR)$(ZSHCOMPDIR)/_swiftd \
		$(DESTDIR)$(FISHCOMPDIR)/swiftd.fish $(DESTDIR)$(SYSCONFDIR)/logrotate.d/swiftd
	@# example.conf goes only when it is still the one installed.
	if cmp -s etc/swiftd/example.conf $(DESTDIR)$(SYSCONFDIR)/swiftd/example.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/swiftd/example.conf; \
		rmdir $(DESTDIR)$(SYSCONFDIR)/swiftd 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/swiftd/example.conf ]; then \
		echo "keeping the edited $(DESTDIR)$(SYSCONFDIR)/swiftd/example.conf"; \
	fi

# The project's test command (README, .ci/run). Under CI (SWIFTD_CI=1, set by .ci/run) no
# test may be skipped: one whose requirement is missing fails (Tests/TestSupport/Requirement.swift).
check: test-user venv test examples lint install-test deb-test stress fuzz

# The hostile-user tests act as a real unprivileged user (Tests/TestSupport/HostileUser.swift):
# created when it is missing and make check runs as root. Without root those tests are skipped
# (failed under CI).
TEST_USER = swiftd-test
test-user:
	@if [ "$$(id -u)" -eq 0 ] && ! id $(TEST_USER) >/dev/null 2>&1; then \
		echo "creating the system user $(TEST_USER) for the hostile-user tests"; \
		useradd --system --no-create-home --shell /usr/sbin/nologin $(TEST_USER); \
	fi

# The real servers of the zero-downtime tests and bench row 11 (gunicorn, uvicorn; pinned with their
# dependencies and hashes in Tests/fixtures/real-servers.txt), from PyPI into a virtual environment of
# Debian's python3 inside the build tree: nothing goes into the system's Python. Made again when the
# list changes. Without it those tests are skipped (failed under CI).
VENV = .build-venv
REAL_SERVERS = Tests/fixtures/real-servers.txt
venv: $(VENV)/installed

$(VENV)/installed: $(REAL_SERVERS)
	rm -rf $(VENV)
	/usr/bin/python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --no-input --quiet --require-hashes --only-binary=:all: -r $(REAL_SERVERS)
	touch $@

# The stress suites run in make stress, with SWIFTD_STRESS=1; here they would only be skipped.
test:
	$(SWIFT) test --skip StressTests

# A separate package that depends on the library by path, as a library user's
# would: only the public API is in reach (Examples/Package.swift).
examples:
	cd Examples && $(SWIFT) build --build-tests && $(SWIFT) test

# Any mandoc warning fails (style notes, such as manuals not installed here, do not). Then no String of the
# library may reach C but as the bytes it holds (Tests/bytes-lint.sh: swiftc -dump-ast over Sources/Daemonize).
lint:
	$(MANDOC) -T lint -W warning $(MANPAGES)
	sh Tests/bytes-lint.sh

install-test:
	sh Tests/install-test.sh

# A Debian package of what make install installs, for /usr and /etc: man pages
# compressed, every file under /etc a conffile, no maintainer scripts (the unit
# and the init script are samples, enabled by the administrator).
VERSION = $(shell sed -n 's/.*static let version = "swiftd \(.*\)"/\1/p' Sources/swiftd/Usage.swift)
DEBARCH = $(shell dpkg --print-architecture)
DEBROOT = .build-deb/root
DEB = .build-deb/swiftd_$(VERSION)_$(DEBARCH).deb

deb: build
	rm -rf $(DEBROOT) && mkdir -p $(DEBROOT)/DEBIAN
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEBROOT) PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system
	gzip -9n $(DEBROOT)/usr/share/man/man*/*
	$(INSTALL) -d $(DEBROOT)/usr/share/doc/swiftd
	$(INSTALL) -m 0644 README.md SECURITY.md $(DEBROOT)/usr/share/doc/swiftd/
	printf 'swiftd %s\nCopyright the swiftd authors. The source states no license yet.\n' '$(VERSION)' > $(DEBROOT)/usr/share/doc/swiftd/copyright
	cd $(DEBROOT) && find etc -type f | sort | sed 's|^|/|' > DEBIAN/conffiles
	cd $(DEBROOT) && find usr lib -type f | sort | xargs md5sum > DEBIAN/md5sums
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEBARCH)/' -e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEBROOT) | cut -f1)/" \
		etc/debian/control > $(DEBROOT)/DEBIAN/control
	dpkg-deb --root-owner-group --build $(DEBROOT) $(DEB)

# Builds the package, installs it into an empty root with dpkg, runs a service
# with what it installed, and purges it (Tests/deb-test.sh).
deb-test:
	sh Tests/deb-test.sh

# Reliability tests longer than a minute (Tests/StressTests, see Tests/RELIABILITY.md).
stress:
	SWIFTD_STRESS=1 $(SWIFT) test --filter StressTests

# Builds in .build-fuzz; fails on any crash, hang, leak or broken property (Tests/Fuzz/README.md).
fuzz:
	Tests/Fuzz/run --seconds $(FUZZ_SECONDS)

clean:
	$(SWIFT) package clean
	rm -rf .build-fuzz .build-deb .build-venv Examples/.build
