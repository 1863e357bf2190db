#!/usr/bin/env bash
# Release artifacts in target/dist/, for the version in Cargo.toml:
#   mailbox-doctor-VERSION-x86_64-unknown-linux-gnu.tar.gz
#   mailbox-doctor-VERSION-x86_64-pc-windows-gnu.zip   (scripts/windows.sh's route)
#   SHA256SUMS
# Each archive holds one folder mailbox-doctor-VERSION-TRIPLE/ with the binary,
# README.md, CHANGELOG.md, the licences, the man page (mailbox-doctor.1) and the
# completions for bash, zsh, fish, elvish and PowerShell.
#
# A static x86_64-unknown-linux-musl build is not made: rustup cannot fetch that
# target here, and Debian's rustc has no musl standard library (see README,
# "Release artifacts"). Set SKIP_WINDOWS=1 to make the Linux archive alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
dist=$root/target/dist
stage=$root/target/dist-stage
# Archive times: the last commit's, so that the same commit gives the same archives.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
command -v zip >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq zip >/dev/null; } ||
  { echo "release.sh: zip is needed (apt-get install zip)" >&2; exit 1; }
rm -rf "$stage" "$dist"
mkdir -p "$dist" "$stage"

echo "== Linux (x86_64-unknown-linux-gnu) release build"
nice -n "${RELEASE_NICE:-10}" cargo build --quiet --release --locked
linux_bin=$root/target/release/mailbox-doctor

# The man page and completions come from the Linux binary: the same clap
# definition is compiled into both.
extras=$stage/extras
mkdir -p "$extras/completions"
"$linux_bin" manpage >"$extras/mailbox-doctor.1"
"$linux_bin" completions bash >"$extras/completions/mailbox-doctor.bash"
"$linux_bin" completions zsh >"$extras/completions/_mailbox-doctor"
"$linux_bin" completions fish >"$extras/completions/mailbox-doctor.fish"
"$linux_bin" completions elvish >"$extras/completions/mailbox-doctor.elv"
"$linux_bin" completions powershell >"$extras/completions/_mailbox-doctor.ps1"

# One folder per archive, the same documents in each.
lay_out() { # triple binary
  local dir=$stage/mailbox-doctor-$version-$1
  mkdir -p "$dir"
  cp "$2" "$dir/"
  cp README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$dir/"
  cp -r "$extras/mailbox-doctor.1" "$extras/completions" "$dir/"
  echo "$dir"
}

dir=$(lay_out x86_64-unknown-linux-gnu "$linux_bin")
# Reproducible archives: fixed owner, order and times.
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime="@$SOURCE_DATE_EPOCH" -czf \
  "$dist/mailbox-doctor-$version-x86_64-unknown-linux-gnu.tar.gz" "$(basename "$dir")"

if [ "${SKIP_WINDOWS:-0}" != 1 ]; then
  echo "== Windows (x86_64-pc-windows-gnu) release build"
  bash scripts/windows.sh release
  win_exe=$root/target/windows/x86_64-pc-windows-gnu/release/mailbox-doctor.exe
  [ -f "$win_exe" ] || { echo "release.sh: no Windows exe at $win_exe" >&2; exit 1; }
  dir=$(lay_out x86_64-pc-windows-gnu "$win_exe")
  # Windows readers get CRLF line ends in the text files.
  for f in README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE; do
    sed -i 's/\r\{0,1\}$/\r/' "$dir/$f"
  done
  find "$stage/$(basename "$dir")" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  (cd "$stage" && find "$(basename "$dir")" | LC_ALL=C sort | zip -q -X -@ \
    "$dist/mailbox-doctor-$version-x86_64-pc-windows-gnu.zip")
fi

(cd "$dist" && find . -maxdepth 1 \( -name '*.tar.gz' -o -name '*.zip' \) -printf '%f\n' |
  LC_ALL=C sort | xargs sha256sum -- >SHA256SUMS)
rm -rf "$stage"
echo "== target/dist/"
(cd "$dist" && ls -l && cat SHA256SUMS)
