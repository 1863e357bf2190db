#!/usr/bin/env bash
# What a helpdesk engineer types today to test one mailbox, one command after
# another: DNS look-ups, a look at the SMTP server's TLS, an SMTP AUTH test with
# swaks, an IMAP login with curl. Each only prints what it saw; none explains it.
# Runs against the benchmark lab: scripts/bench/run.sh sets MD_LAB_* and
# MD_BENCH_PW (a made-up password the lab accepts).
set -u
dig @127.0.0.1 -p "$MD_LAB_DNS_PORT" +short contoso.com MX
dig @127.0.0.1 -p "$MD_LAB_DNS_PORT" +short smtp.office365.com A
dig @127.0.0.1 -p "$MD_LAB_DNS_PORT" +short outlook.office365.com A
openssl s_client -starttls smtp -connect "127.0.0.1:$MD_LAB_SMTP_BARE_PORT" \
  -servername smtp.office365.com -CAfile "$MD_LAB_CA" -verify_return_error -brief </dev/null
swaks --server "127.0.0.1:$MD_LAB_SMTP_BARE_PORT" --tls --tls-verify --tls-ca-path "$MD_LAB_CA" \
  --tls-sni smtp.office365.com --auth LOGIN --auth-user alice@contoso.com \
  --auth-password "$MD_BENCH_PW" --quit-after AUTH
curl -sS --cacert "$MD_LAB_CA" --resolve "outlook.office365.com:$MD_LAB_IMAP_PORT:127.0.0.1" \
  "imaps://outlook.office365.com:$MD_LAB_IMAP_PORT/" -u "alice@contoso.com:$MD_BENCH_PW" \
  -X 'EXAMINE INBOX'
