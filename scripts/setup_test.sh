#!/usr/bin/env bash
# setup_test.sh: the decisions of setup.sh, on made-up machines.
#
# Each case runs setup.sh with SETUP_ROOT at a temporary folder standing for
# / and a PATH holding only the basic tools it uses plus stubs: id (the user
# id), sudo (with or without a password) and apt-get (which logs its
# arguments and "installs" a package by creating the files setup.sh looks
# for). Nothing on this machine is installed or removed.
set -uo pipefail

setup=$(cd "$(dirname "$0")" && pwd)/setup.sh
bash=$(command -v bash)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# machine OPTION...: a fresh made-up machine in $tmp/case: Debian, root,
# with everything installed, less what the options take away.
machine() {
	rm -rf "$tmp/case"
	root=$tmp/case/root bin=$tmp/case/bin log=$tmp/case/apt.log
	mkdir -p "$root/etc" "$bin"
	: >"$log"
	for t in awk dirname uname env cat mkdir touch chmod; do
		ln -s "$(command -v "$t")" "$bin/$t"
	done
	stub id 'case $1 in -u) echo "${STUB_UID:-0}" ;; -un) echo user ;; esac'
	stub sudo 'if [ "$1" = -n ]; then exit "${STUB_SUDO:-1}"; fi; printf "sudo " >>"$STUB_LOG"; exec env "$@"'
	stub apt-get 'echo "apt-get $*" >>"$STUB_LOG"; [ "${STUB_APT_FAIL:-}" != 1 ] || exit 100
		[ "$1" = install ] || exit 0
		for p in "$@"; do case $p in
			make|git|gcc|go) printf "#!/bin/sh\n" >"$STUB_BIN/$p"; chmod +x "$STUB_BIN/$p" ;;
			libc6-dev) mkdir -p "$SETUP_ROOT/usr/include"; touch "$SETUP_ROOT/usr/include/stdlib.h" ;;
			ca-certificates) mkdir -p "$SETUP_ROOT/etc/ssl/certs"; touch "$SETUP_ROOT/etc/ssl/certs/ca-certificates.crt" ;;
			chromium) mkdir -p "$SETUP_ROOT/usr/bin"; printf "#!/bin/sh\n" >"$SETUP_ROOT/usr/bin/chromium"; chmod +x "$SETUP_ROOT/usr/bin/chromium" ;;
			fonts-liberation) mkdir -p "$SETUP_ROOT/usr/share/fonts/truetype/liberation" ;;
			postgresql) mkdir -p "$SETUP_ROOT/usr/lib/postgresql/15/bin"; printf "#!/bin/sh\n" >"$SETUP_ROOT/usr/lib/postgresql/15/bin/initdb"; chmod +x "$SETUP_ROOT/usr/lib/postgresql/15/bin/initdb" ;;
		esac; done'
	local have="debian go make git gcc libc6-dev ca-certificates chromium fonts-liberation postgresql"
	for o in "$@"; do have=" $have "; have=${have/ ${o#-} / }; done
	for p in $have; do
		case $p in
		debian) touch "$root/etc/debian_version" ;;
		*) STUB_BIN=$bin SETUP_ROOT=$root STUB_LOG=/dev/null "$bin/apt-get" install "$p" ;;
		esac
	done
}

# stub NAME BODY: a shell script on the made-up machine's PATH.
stub() {
	printf '#!/bin/sh\n%s\n' "$2" >"$bin/$1"
	chmod +x "$bin/$1"
}

# run VAR=VALUE...: run setup.sh on the machine with these variables; its
# status in $status, its output in $out, apt-get's log in $apt.
run() {
	out=$(env -i PATH="$bin" SETUP_ROOT="$root" STUB_LOG="$log" STUB_BIN="$bin" "$@" \
		"$bash" "$setup" 2>&1)
	status=$?
	apt=$(cat "$log")
}

# expect NAME CONDITION MESSAGE: record a failure of case NAME unless the
# test command CONDITION (a string for eval) holds.
expect() {
	if ! eval "$2"; then
		echo "FAIL: $1: $3"
		echo "  status $status, output:"
		printf '%s\n' "$out" | sed 's/^/    /'
		echo "  apt-get log:"
		printf '%s\n' "$apt" | sed 's/^/    /'
		failed=1
	fi
}
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }

name="everything installed: nothing to do, nothing said"
machine
run
expect "$name" '[ $status -eq 0 ] && [ -z "$apt" ] && [ -z "$out" ]' "want status 0, no apt-get, no output"

name="root on Debian without Chromium and PostgreSQL: apt-get installs them"
machine -chromium -fonts-liberation -postgresql
run
expect "$name" '[ $status -eq 0 ]' "want status 0"
expect "$name" 'has "$apt" "apt-get update" && has "$apt" "apt-get install -y -qq --no-install-recommends chromium fonts-liberation postgresql"' \
	"want apt-get update and install of the three"
expect "$name" '[ -x "$root/usr/bin/chromium" ]' "want Chromium installed"

name="user with password-less sudo: apt-get through sudo"
machine -chromium
run STUB_UID=1000 STUB_SUDO=0
expect "$name" '[ $status -eq 0 ] && has "$apt" "sudo apt-get install -y -qq --no-install-recommends chromium"' \
	"want status 0 and apt-get run by sudo"

name="user without password-less sudo: stops with the exact command"
machine -chromium -fonts-liberation -postgresql
run STUB_UID=1000 STUB_SUDO=1
expect "$name" '[ $status -ne 0 ] && [ -z "$apt" ]' "want a failure and no apt-get"
expect "$name" 'has "$out" "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium fonts-liberation postgresql"' \
	"want the install command"
expect "$name" 'has "$out" "make test GRANTOR_SKIP_BROWSER=1 GRANTOR_SKIP_POSTGRES=1"' "want the explicit skip"

name="not Debian: stops, naming what is missing"
machine -debian -postgresql
run
expect "$name" '[ $status -ne 0 ] && [ -z "$apt" ] && has "$out" "PostgreSQL" && has "$out" "make test GRANTOR_SKIP_POSTGRES=1"' \
	"want a failure naming PostgreSQL and the skip, no apt-get"

name="GRANTOR_SKIP_BROWSER=1: no Chromium needed"
machine -chromium -fonts-liberation
run GRANTOR_SKIP_BROWSER=1
expect "$name" '[ $status -eq 0 ] && [ -z "$apt" ]' "want status 0, no apt-get"

name="GRANTOR_SKIP_BROWSER=true is not the explicit skip"
machine -chromium -fonts-liberation
run GRANTOR_SKIP_BROWSER=true STUB_UID=1000
expect "$name" '[ $status -ne 0 ] && has "$out" "chromium fonts-liberation"' "want a failure asking for Chromium"

name="GRANTOR_SKIP_POSTGRES=1: no PostgreSQL needed, the rest still installed"
machine -chromium -postgresql
run GRANTOR_SKIP_POSTGRES=1
expect "$name" '[ $status -eq 0 ] && has "$apt" "--no-install-recommends chromium" && ! has "$apt" postgresql' \
	"want only Chromium installed"

name="GRANTOR_TEST_POSTGRES given: no PostgreSQL needed"
machine -postgresql
run GRANTOR_TEST_POSTGRES=postgres://db/x
expect "$name" '[ $status -eq 0 ] && [ -z "$apt" ]' "want status 0, no apt-get"

name="GRANTOR_CHROMIUM names a browser: Debian's is not needed"
machine -chromium -fonts-liberation
stub my-chrome 'exit 0'
run GRANTOR_CHROMIUM=my-chrome
expect "$name" '[ $status -eq 0 ] && [ -z "$apt" ]' "want status 0, no apt-get"

name="GRANTOR_CHROMIUM names nothing: stops"
machine
run GRANTOR_CHROMIUM=/nowhere/chrome
expect "$name" '[ $status -ne 0 ] && [ -z "$apt" ] && has "$out" "GRANTOR_CHROMIUM=/nowhere/chrome"' "want a failure naming it"

name="GRANTOR_PG_BINDIR without initdb: stops"
machine
run GRANTOR_PG_BINDIR=/nowhere
expect "$name" '[ $status -ne 0 ] && [ -z "$apt" ] && has "$out" "GRANTOR_PG_BINDIR=/nowhere"' "want a failure naming it"

name="no C compiler or headers: gcc and libc6-dev for -race"
machine -gcc -libc6-dev
run
expect "$name" '[ $status -eq 0 ] && has "$apt" "--no-install-recommends gcc libc6-dev"' "want gcc and libc6-dev installed"

name="a fresh Debian image: everything but Go installed at once"
machine -make -git -gcc -libc6-dev -ca-certificates -chromium -fonts-liberation -postgresql
run
expect "$name" '[ $status -eq 0 ] && has "$apt" "--no-install-recommends make git gcc libc6-dev ca-certificates chromium fonts-liberation postgresql"' \
	"want one apt-get install of them all"

name="apt-get fails: stops with the command"
machine -postgresql
run STUB_APT_FAIL=1
expect "$name" '[ $status -ne 0 ] && has "$out" "apt-get install -y --no-install-recommends postgresql"' "want a failure with the command"

name="no Go: stops with the command that installs it"
machine -go
run
expect "$name" '[ $status -ne 0 ] && [ -z "$apt" ] && has "$out" "tar -C /usr/local -xzf go1."' "want the install command"

name="Go only in /usr/local/go: found"
machine -go
mkdir -p "$root/usr/local/go/bin" && printf '#!/bin/sh\n' >"$root/usr/local/go/bin/go" && chmod +x "$root/usr/local/go/bin/go"
run
expect "$name" '[ $status -eq 0 ]' "want status 0"

if [ $failed -ne 0 ]; then
	echo "setup_test.sh: FAIL"
	exit 1
fi
echo "ok  	scripts/setup.sh"
