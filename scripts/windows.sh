#!/usr/bin/env bash
# The Windows build (x86_64-pc-windows-gnu) and its tests under Wine, with
# Debian's packages only: rustc-web/cargo-web 1.96 build the standard library for
# the target (-Zbuild-std, RUSTC_BOOTSTRAP=1), mingw-w64 links, Wine runs the
# test executables (the runner is in .cargo/config.toml). Wine 8 lacks
# bcryptprimitives.dll, which Rust's std imports on Windows: a stand-in is built
# here and put in the Wine prefix only; it is never shipped.
#
#   scripts/windows.sh            install (as root), build, test under Wine
#   scripts/windows.sh env        print the environment the route needs (eval it)
#   scripts/windows.sh prefix     make the Wine prefix and the stand-in DLL
#   scripts/windows.sh release    build the release exe only
#
# Without root or packages it says so LOUDLY and exits 0, so that the rest of
# the test command still runs. Steps that would start after WINDOWS_BUDGET
# seconds (default 1800) are skipped and listed LOUDLY. Everything goes under
# target/windows/.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=$root/target/windows
TRIPLE=x86_64-pc-windows-gnu
PKGS=(rustc-web cargo-web rust-web-src rust-web-clippy gcc-mingw-w64-x86-64 wine64 wine)
# The test files run under Wine: the unit tests, then the integration tests that
# need no Unix-only server (no Dovecot, Postfix or Prometheus, no signals, no
# FIFOs). `replay` plays every fixture against the real exe's `check` over
# loopback TLS: the end-to-end check. Left out: batch (its 200-mailbox runs
# take over 7 minutes under Wine; its Windows path, no rlimit, is a unit test),
# serve and prometheus (signals), real_servers, sweep and hostile (long).
TESTS=(explain credentials demo formats cli replay replay_smtp replay_imap replay_pop tls)

loud() {
  echo
  echo "################################################################"
  echo "SKIPPED: Windows build and tests under Wine ($1)"
  echo "################################################################"
}

route_env() {
  cat <<EOF
export PATH=/usr/bin:\$PATH RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR='$W' CARGO_PROFILE_DEV_DEBUG=line-tables-only
export WINEPREFIX='$W/wineprefix' WINEDEBUG=-all
EOF
}

have_route() {
  [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ] &&
    command -v x86_64-w64-mingw32-gcc >/dev/null && command -v wine >/dev/null &&
    /usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.\(9[0-9]\|[1-9][0-9][0-9]\)'
}

install() {
  have_route && return 0
  if [ "$(id -u)" != 0 ]; then
    loud "not running as root: cannot install ${PKGS[*]}"
    return 1
  fi
  echo "== installing the Windows route from Debian's packages (about 2 GB, once per machine)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  if ! apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null; then
    loud "the packages could not be installed: ${PKGS[*]}"
    return 1
  fi
  have_route || { loud "the packages are installed but the toolchain is not usable"; return 1; }
}

# The Wine prefix, with the stand-in for bcryptprimitives.dll (ProcessPrng on top
# of RtlGenRandom). Real Windows 10 and later have the DLL.
prefix() {
  local dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
  [ -f "$dll" ] && return 0
  mkdir -p "$W/stub"
  wineboot -i >/dev/null 2>&1 || true
  cat >"$W/stub/bcryptprimitives.c" <<'C'
/* Wine 8.0 has no bcryptprimitives.dll; Rust's std imports ProcessPrng from it.
   For the tests under Wine only: never shipped. */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036
BOOL WINAPI ProcessPrng(PBYTE out, SIZE_T n) {
    while (n > 0) {
        ULONG part = n > 0x10000000 ? 0x10000000 : (ULONG)n;
        if (!RtlGenRandom(out, part)) return FALSE;
        out += part;
        n -= part;
    }
    return TRUE;
}
C
  printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\n    ProcessPrng\n' >"$W/stub/bcryptprimitives.def"
  x86_64-w64-mingw32-gcc -O2 -shared -o "$W/stub/bcryptprimitives.dll" \
    "$W/stub/bcryptprimitives.c" "$W/stub/bcryptprimitives.def" -ladvapi32 || return 1
  cp "$W/stub/bcryptprimitives.dll" "$dll"
}

case "${1:-test}" in
  env) route_env; exit 0 ;;
esac

eval "$(route_env)"
BS=(-Zbuild-std=std,panic_unwind --target "$TRIPLE")
CARGO=(nice -n "${WINDOWS_NICE:-10}" /usr/bin/cargo)

case "${1:-test}" in
  prefix)
    install && prefix
    exit $?
    ;;
  release)
    install || exit 1
    "${CARGO[@]}" build --quiet --release --locked "${BS[@]}"
    exit $?
    ;;
  test) ;;
  *) echo "usage: $0 [test|env|prefix|release]" >&2; exit 2 ;;
esac

start=$(date +%s)
install || exit 0
if ! prefix; then
  loud "the Wine prefix or the stand-in bcryptprimitives.dll could not be made"
  exit 0
fi
fail=0
budget=${WINDOWS_BUDGET:-1800}
# One step that does not end within this (a test hung under Wine) is killed,
# with everything it started, and counts as failed: the test command goes on.
step_limit=${WINDOWS_STEP_TIMEOUT:-900}
skipped=()
step() {
  local t0=$SECONDS rc
  if [ $(($(date +%s) - start)) -ge "$budget" ]; then
    skipped+=("$*")
    return 0
  fi
  echo "== windows: $*"
  if [ "$(type -t "$1")" = function ]; then
    "$@"
  else
    # timeout signals its whole process group: cargo, Wine and the tests.
    timeout -k 30 "$step_limit" "$@"
  fi
  rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "FAILED (windows): $* (did not end within ${step_limit} s, WINDOWS_STEP_TIMEOUT)"
    fail=1
  elif [ "$rc" != 0 ]; then
    echo "FAILED (windows): $*"
    fail=1
  fi
  echo "   ($((SECONDS - t0)) s)"
}
args=()
for t in "${TESTS[@]}"; do args+=(--test "$t"); done
step "${CARGO[@]}" test --quiet --locked "${BS[@]}" --no-run --lib --bins "${args[@]}"
# The exe itself under Wine: it starts, and `demo` checks a mailbox end to end
# against the replay servers over loopback TLS, as on Linux.
exe=$W/$TRIPLE/debug/mailbox-doctor.exe
step wine "$exe" --version
# The default scenario's root cause, with its exit code (2, critical), as on Linux.
demo_e2e() {
  local out rc
  out=$(timeout -k 30 "$step_limit" wine "$exe" demo --color never 2>&1)
  rc=$?
  grep -m1 "Root cause" <<<"$out"
  [ "$rc" = 2 ] && grep -q "Root cause: M365_SMTP_AUTH_DISABLED_TENANT" <<<"$out"
}
step demo_e2e
# The unit tests, then the chosen integration test files, one run each.
step "${CARGO[@]}" test --quiet --locked "${BS[@]}" --lib
for t in "${TESTS[@]}"; do
  step "${CARGO[@]}" test --quiet --locked "${BS[@]}" --test "$t"
done
# Lints for the Windows target: the cfg(windows) code is compiled nowhere else.
step "${CARGO[@]}" clippy --quiet --locked "${BS[@]}" --lib --bins "${args[@]}" -- -D warnings
echo "== windows: $(($(date +%s) - start)) s in all (budget ${budget} s, WINDOWS_BUDGET)"
if [ "${#skipped[@]}" -gt 0 ]; then
  echo
  echo "################################################################"
  echo "SKIPPED (Windows under Wine, over the ${budget} s budget):"
  printf '  %s\n' "${skipped[@]}"
  echo "################################################################"
fi
echo "   (never under Wine: batch, serve, prometheus, real_servers, sweep, hostile and the Unix-only cases)"
exit $fail
