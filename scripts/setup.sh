#!/usr/bin/env bash
# setup.sh: make this machine able to run `make test`, or say exactly how.
#
# `make test` and .ci/run call it first. It checks for what the tests need:
#
#   Go           the toolchain (go.work names the version); never installed
#                here: Debian's golang package is too old
#   make, git    the build and the clean-tree check of .ci/run
#   gcc          with libc6-dev: `go test -race` needs cgo
#   ca-certificates  to download modules over HTTPS
#   chromium     with fonts-liberation: the browser test of examples/server
#                drives it headless (GRANTOR_CHROMIUM names another binary)
#   postgresql   scripts/with-postgres.sh starts a throwaway server from its
#                binaries for the PostgreSQL tests (GRANTOR_PG_BINDIR names
#                other binaries; with GRANTOR_TEST_POSTGRES set none is
#                started, so none is needed)
#
# On Debian it installs what is missing with apt-get, as root or through
# sudo when sudo needs no password. Otherwise it stops, non-zero, printing
# the command that installs it. It never decides on its own to leave tests
# out: GRANTOR_SKIP_BROWSER=1 and GRANTOR_SKIP_POSTGRES=1 say that the user
# wants those tests skipped, and then Chromium or PostgreSQL is not needed.
#
# The tests of this script (scripts/setup_test.sh) point SETUP_ROOT at a
# folder standing for / and put stubs of id, sudo and apt-get on PATH.
set -euo pipefail

root=${SETUP_ROOT:-}
here=$(cd "$(dirname "$0")/.." && pwd)

say() { echo "setup: $*" >&2; }

# skipped VAR: whether the user asked to skip with VAR=1.
skipped() { [ "${!1:-}" = 1 ]; }

# debian: whether apt-get can install the Debian package names below.
debian() { [ -e "$root/etc/debian_version" ] && command -v apt-get >/dev/null 2>&1; }

# The minimum Go version, from the go line of go.work.
go_min=$(awk '$1 == "go" { print $2; exit }' "$here/go.work")

# go_ok: whether a Go toolchain is on PATH, or in /usr/local/go where the
# official archive puts it (the Makefile looks there too).
go_ok() {
	command -v go >/dev/null 2>&1 || [ -x "$root/usr/local/go/bin/go" ]
}

pkgs=()  # Debian packages to install
needs=() # what they are for, one line each
need() { # need PACKAGE... -- REASON
	while [ "$1" != -- ]; do
		case " ${pkgs[*]-} " in *" $1 "*) ;; *) pkgs+=("$1") ;; esac
		shift
	done
	shift
	needs+=("$*")
}

check() {
	pkgs=()
	needs=()
	command -v make >/dev/null 2>&1 || need make -- "make, to run make test"
	command -v git >/dev/null 2>&1 || need git -- "git, for the clean-tree check of .ci/run"
	command -v "${CC:-gcc}" >/dev/null 2>&1 || need gcc -- "gcc: go test -race needs cgo"
	[ -e "$root/usr/include/stdlib.h" ] || need libc6-dev -- "the C library's headers: go test -race needs cgo"
	if debian && [ ! -e "$root/etc/ssl/certs/ca-certificates.crt" ]; then
		need ca-certificates -- "CA certificates, to download Go modules over HTTPS"
	fi
	if ! skipped GRANTOR_SKIP_BROWSER; then
		if [ -n "${GRANTOR_CHROMIUM:-}" ]; then
			if ! command -v "$GRANTOR_CHROMIUM" >/dev/null 2>&1; then
				say "GRANTOR_CHROMIUM=$GRANTOR_CHROMIUM is not a program"
				say "point it at a Chromium binary, unset it, or skip the browser test: make test GRANTOR_SKIP_BROWSER=1"
				exit 1
			fi
		else
			[ -x "$root/usr/bin/chromium" ] ||
				need chromium -- "Chromium, for the browser test of examples/server"
			[ -d "$root/usr/share/fonts/truetype/liberation" ] ||
				need fonts-liberation -- "fonts for Chromium's pages (only recommended by the chromium package)"
		fi
	fi
	if ! skipped GRANTOR_SKIP_POSTGRES && [ -z "${GRANTOR_TEST_POSTGRES:-}" ]; then
		if [ -n "${GRANTOR_PG_BINDIR:-}" ]; then
			if ! [ -x "$GRANTOR_PG_BINDIR/initdb" ]; then
				say "GRANTOR_PG_BINDIR=$GRANTOR_PG_BINDIR holds no initdb"
				say "point it at PostgreSQL's bin folder, unset it, or skip the PostgreSQL tests: make test GRANTOR_SKIP_POSTGRES=1"
				exit 1
			fi
		else
			compgen -G "$root/usr/lib/postgresql/*/bin/initdb" >/dev/null ||
				need postgresql -- "PostgreSQL, for the tests of storage/postgres and examples/server"
		fi
	fi
}

# hint: the command that installs the packages, and how to skip instead.
hint() {
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo="sudo "
	for n in "${needs[@]}"; do say "  - $n"; done
	if [ -e "$root/etc/debian_version" ]; then
		say "install them with:"
		say "  ${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${pkgs[*]}"
	else
		say "this is not Debian: install them with the system's package manager (Debian names: ${pkgs[*]});"
		say "for a browser elsewhere than /usr/bin/chromium set GRANTOR_CHROMIUM, for PostgreSQL's"
		say "binaries elsewhere than /usr/lib/postgresql/*/bin set GRANTOR_PG_BINDIR"
	fi
	local skip=
	case " ${pkgs[*]} " in *" chromium "* | *" fonts-liberation "*) skip+=" GRANTOR_SKIP_BROWSER=1" ;; esac
	case " ${pkgs[*]} " in *" postgresql "*) skip+=" GRANTOR_SKIP_POSTGRES=1" ;; esac
	if [ -n "$skip" ]; then
		say "or skip the tests that need them, explicitly: make test$skip"
	fi
}

if ! go_ok; then
	arch=$(uname -m)
	case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo="sudo "
	say "no Go toolchain: Go $go_min or newer is needed (Debian's golang package is older). Install it with:"
	say "download go$go_min.linux-$arch.tar.gz (or a newer release) from the Go project's download page, then:"
	say "  ${sudo}tar -C /usr/local -xzf go$go_min.linux-$arch.tar.gz"
	say "make finds it in /usr/local/go/bin"
	exit 1
fi

check
[ ${#pkgs[@]} -eq 0 ] && exit 0

say "missing:"
apt=
if debian; then
	if [ "$(id -u)" -eq 0 ]; then
		apt=apt-get
	elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
		apt="sudo DEBIAN_FRONTEND=noninteractive apt-get"
	fi
fi
if [ -z "$apt" ]; then
	hint
	exit 1
fi
for n in "${needs[@]}"; do say "  - $n"; done
say "installing: $apt install --no-install-recommends ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $apt update -qq || ! $apt install -y -qq --no-install-recommends "${pkgs[@]}"; then
	say "apt-get failed; what is still missing:"
	check
	hint
	exit 1
fi
check
if [ ${#pkgs[@]} -gt 0 ]; then
	say "still missing after apt-get:"
	hint
	exit 1
fi
say "installed"
