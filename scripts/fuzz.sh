#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers that read what a server or a user sends.
# Builds the cargo-fuzz targets in fuzz/, seeds each target's corpus from
# fixtures/*.txt, runs the targets one after another (one core) and prints a
# table: target, seconds, executions, crashes (new files in fuzz/artifacts/).
#
# Usage: scripts/fuzz.sh [TARGET...]        (default: every target)
#   SECONDS_PER_TARGET=N   time per target (default 600)
#   MAX_LEN=N              largest input in bytes (default 65536)
#   TIMEOUT=N              an input running longer than N s is a finding (default 30)
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); on a stable toolchain
# RUSTC_BOOTSTRAP=1 is set so that its -Z flags are accepted.
# Exit status: 0 when no target found anything, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${SECONDS_PER_TARGET:-600}"
MAX_LEN="${MAX_LEN:-65536}"
TIMEOUT="${TIMEOUT:-30}"
export RUSTC_BOOTSTRAP=1

ALL=(smtp_reply imap_response imap_literals pop3 identity knowledge_match credentials scrub signins_csv)
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

FUZZ_FLAGS=(-O -a)
cargo fuzz build "${FUZZ_FLAGS[@]}"

# The `S: ` lines of the fixtures whose `# protocol:` is $1 (any protocol when
# empty), one seed file per fixture, lines joined with CRLF.
seed_protocol() {
  local proto="$1" dir="$2" f name
  for f in fixtures/*.txt; do
    if [ -n "$proto" ] && ! grep -qx "# protocol: $proto" "$f"; then continue; fi
    name="$(basename "$f" .txt)"
    grep '^S: ' "$f" | sed -e 's/^S: //' -e 's/{tag}/A1/g' -e 's/$/\r/' > "$dir/fixture-$name" || true
    [ -s "$dir/fixture-$name" ] || rm -f "$dir/fixture-$name"
  done
}

# Every distinct `S: ` line of every fixture, one seed file per line.
seed_lines() {
  local dir="$1" i=0 line
  while IFS= read -r line; do
    i=$((i + 1))
    printf '%s' "$line" > "$dir/line-$i"
  done < <(grep -h '^S: ' fixtures/*.txt | sed -e 's/^S: //' -e 's/{tag}/A1/g' | sort -u)
}

seed_literal() {
  local dir="$1" i=0 s
  shift
  for s in "$@"; do
    i=$((i + 1))
    printf '%b' "$s" > "$dir/literal-$i"
  done
}

seed() {
  local t="$1" dir="fuzz/corpus/$1"
  mkdir -p "$dir"
  case "$t" in
    smtp_reply) seed_protocol smtp "$dir" ;;
    imap_response) seed_protocol imap "$dir" ;;
    imap_literals)
      seed_protocol imap "$dir"
      seed_literal "$dir" '* CAPABILITY {0}\r\n\r\nA1 OK\r\n' \
        '* CAPABILITY {4294967295}\r\n' \
        '* CAPABILITY {18446744073709551616}\r\n' \
        '* 1 FETCH (BODY[] {5}\r\nab{3}\r\n {2}\r\n{0}\r\n)\r\nA1 OK\r\n' \
        '* X {0}\r\n{0}\r\n{0}\r\n{0}\r\n{0}\r\n' \
        '* NO {16}\r\nFuzz-Canary-2718\r\nA1 NO {0}\r\n' \
        '* OK {3+}\r\n\x1b[2\r\nA1 BAD \x07\x00\r\n'
      ;;
    pop3) seed_protocol pop "$dir" ;;
    knowledge_match)
      seed_protocol "" "$dir"
      seed_lines "$dir"
      seed_literal "$dir" 'contoso-com.mail.protection.outlook.com\nalt1.aspmx.l.google.com' \
        'smtps://smtp.office365.com:465' 'imap.gmail.com:993' '[::1]:2525'
      ;;
    identity)
      seed_literal "$dir" \
        'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}' \
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n' \
        '<RealmInfo Success="true"><NameSpaceType>Managed</NameSpaceType><DomainName>contoso.com</DomainName><CloudInstanceName>microsoftonline.com</CloudInstanceName></RealmInfo>' \
        '{"token_endpoint":"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/oauth2/token","tenant_region_scope":"EU","cloud_instance_name":"microsoftonline.com"}' \
        'eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSIsInNjcCI6IklNQVAuQWNjZXNzQXNVc2VyLkFsbCBTTVRQLlNlbmQiLCJ1cG4iOiJhbGljZUBjb250b3NvLmNvbSIsImV4cCI6MTcwMDAwMDAwMH0.x' \
        'https://login.microsoftonline.com/contoso.com/v2.0/.well-known/openid-configuration'
      ;;
    credentials)
      seed_literal "$dir" 'abcd efgh ijkl mnop' ' correct horse\r' '"quoted"' 'pa\u200bss' \
        'alice@contoso.com' 'mailto:Alice@Contoso.com ' 'CONTOSO\\alice'
      ;;
    scrub)
      # Byte 0 picks the secret, byte 1 the form it is written in, byte 2 where.
      seed_literal "$dir" '\x00\x00\x05535 5.7.8 {"status":"400","schemes":"Bearer"}' \
        '\x01\x01\x20{"status":"401","token":"","scope":"https://mail.google.com/"}' \
        '\x02\x02\x10{"error":{"message":"bad \\"x\\" \\/ \\u00e9"}}' \
        '\x03\x03\x04334 eyJzdGF0dXMiOiI0MDAifQ==' \
        '\x01\x08\x00NO [AUTHENTICATIONFAILED] \x1b[2J AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' \
        '\x00\x06\x02-ERR \xc2\x9b\xe2\x80\xae \\ud83d\\ude00 \\ud800 %41%41'
      ;;
    signins_csv)
      seed_literal "$dir" \
        'Date (UTC),Request ID,User,Username,Application,Client app,IP address,Location,Status,Sign-in error code,Failure reason,Conditional Access\r\n2025-12-04T08:19:41Z,1,Alice,alice@contoso.com,Office,Authenticated SMTP,203.0.113.5,"Berlin, Berlin, DE",Failure,50126,"Invalid username or password",Not Applied\r\n' \
        'Date (UTC),Username,Status\n"2025-12-04T08:19:41Z,alice@contoso.com,Success\n2025-12-04T08:19:42Z,bob@contoso.com,Success\n' \
        'Date (UTC),Username,Status,User agent\n2025-12-04T08:19:41Z,a@b.c,Success,"a ""quoted"" \nline"\n2025-12-04T08:19:41Z,a@b.c,Success,x"y\n' \
        '\xff\xfeD\x00a\x00t\x00e\x00,\x00U\x00\n\x00' \
        '\xfe\xff\x00D\x00a\x00t\x00e\x00,\x00U\x00\n'
      ;;
    *) echo "unknown target: $t" >&2; exit 2 ;;
  esac
}

mkdir -p fuzz/logs
rows=()
failed=0
for t in "${TARGETS[@]}"; do
  seed "$t"
  mkdir -p "fuzz/artifacts/$t"
  marker="$(mktemp)"
  log="fuzz/logs/$t.log"
  start=$(date +%s)
  set +e
  cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len="$MAX_LEN" \
    -timeout="$TIMEOUT" -print_final_stats=1 > "$log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - start ))
  done_line="$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)"
  if [ -n "$done_line" ]; then
    runs="$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/' <<<"$done_line")"
    secs="$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/' <<<"$done_line")"
  else
    runs="$(grep -E '^stat::number_of_executed_units:' "$log" | tail -n 1 | awk '{print $2}' || true)"
    secs="$elapsed"
  fi
  crashes="$(find "fuzz/artifacts/$t" -type f -newer "$marker" | wc -l)"
  rm -f "$marker"
  if [ "$crashes" -gt 0 ] || [ "$rc" -ne 0 ]; then failed=1; fi
  rows+=("$(printf '%-16s %8s %14s %8s' "$t" "$secs" "${runs:-?}" "$crashes")")
  echo "$t: rc=$rc seconds=$secs executions=${runs:-?} crashes=$crashes (log: $log)" >&2
done

printf '%-16s %8s %14s %8s\n' target seconds executions crashes
printf '%s\n' "${rows[@]}"
exit "$failed"
