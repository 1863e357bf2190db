#!/usr/bin/env bash
# Real Dovecot (IMAP, POP3) and Postfix (submission with Dovecot SASL, two
# relays by client address and one by client certificate for `paths`) on 127.0.0.1,
# for the real-server tests. Their domain is example.test and their host name
# mail.example.test (in the certificate); the tests publish the domain's SRV
# records through their own DNS server. Everything lives under target/real-servers; the
# system's own configuration is not touched.
#   scripts/real-servers.sh start   configure and start (idempotent)
#   scripts/real-servers.sh stop    stop them
#   scripts/real-servers.sh env     print the exports the tests read
set -euo pipefail
cd "$(dirname "$0")/.."
STATE="$PWD/target/real-servers"
USER_NAME="alice@example.test"
USER_PASS="Correct-Horse-9"

ports() {
  cat <<EOT
export MD_REAL_IMAP=127.0.0.1:10143
export MD_REAL_IMAPS=127.0.0.1:10993
export MD_REAL_POP=127.0.0.1:10110
export MD_REAL_POPS=127.0.0.1:10995
export MD_REAL_SUBMISSION=127.0.0.1:10587
export MD_REAL_SMTP_PLAIN=127.0.0.1:10025
export MD_REAL_RELAY_OPEN=127.0.0.1:10026
export MD_REAL_RELAY_CLOSED=127.0.0.1:10027
export MD_REAL_RELAY_CERT=127.0.0.1:10028
export MD_REAL_CLIENT_CERT=$STATE/client.crt
export MD_REAL_CLIENT_KEY=$STATE/client.key
export MD_REAL_CA=$STATE/ca.crt
export MD_REAL_USER=$USER_NAME
export MD_REAL_PASSWORD=$USER_PASS
export MD_REAL_DOVECOT_LOG=$STATE/dovecot.log
export MD_REAL_POSTFIX_LOG=$STATE/postfix.log
# Dovecot's oauth2 passdb asks this token introspection endpoint (RFC 7662 style,
# POST token=...), which the OAuth tests serve themselves while they run.
export MD_REAL_INTROSPECTION=127.0.0.1:10880
EOT
}

stop() {
  if [ -f "$STATE/dovecot-run/master.pid" ]; then
    kill "$(cat "$STATE/dovecot-run/master.pid")" >/dev/null 2>&1 || true
  fi
  if [ -f "$STATE/postfix-queue/pid/master.pid" ]; then
    kill "$(tr -d ' ' < "$STATE/postfix-queue/pid/master.pid")" >/dev/null 2>&1 || true
  fi
  pkill -f "dovecot -c $STATE/dovecot.conf" >/dev/null 2>&1 || true
  pkill -f "master -c $STATE/postfix" >/dev/null 2>&1 || true
  for _ in $(seq 1 50); do
    pgrep -f "$STATE/(dovecot.conf|postfix)" >/dev/null 2>&1 || return 0
    sleep 0.1
  done
}

# new_ca NAME CN: a self-signed CA, in NAME.crt and NAME.key.
new_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2" \
    -keyout "$STATE/$1.key" -out "$STATE/$1.crt" >/dev/null 2>&1
}

# signed NAME CN CA EXTENSIONS: a certificate for CN signed by the CA named CA,
# in NAME.crt and NAME.key, with EXTENSIONS (lines, `\n` between them).
signed() {
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$STATE/$1.key" -out "$STATE/$1.csr" >/dev/null 2>&1
  printf '%b' "$4" > "$STATE/$1-ext.cnf"
  openssl x509 -req -in "$STATE/$1.csr" -CA "$STATE/$3.crt" -CAkey "$STATE/$3.key" -CAcreateserial \
    -days 3650 -extfile "$STATE/$1-ext.cnf" -out "$STATE/$1.crt" >/dev/null 2>&1
}

certs() {
  new_ca ca "mailbox-doctor real-server test CA"
  signed server localhost ca \
    'subjectAltName=DNS:localhost,DNS:mail.example.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
  chmod 644 "$STATE/server.key"
  # A device's TLS client certificate, from a CA of its own (the only one the
  # relay on 10028 trusts for clients).
  new_ca clientca "mailbox-doctor real-server devices CA"
  signed client scanner.example.test clientca 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'
  chmod 600 "$STATE/client.key"
}

dovecot_conf() {
  local uid gid
  uid=$(id -u dovecot); gid=$(id -g dovecot)
  mkdir -p "$STATE/dovecot-run" "$STATE/dovecot-state" "$STATE/mail"
  chown dovecot:dovecot "$STATE/mail"
  echo "$USER_NAME:{PLAIN}$USER_PASS" > "$STATE/users"
  chmod 644 "$STATE/users"
  cat > "$STATE/dovecot.conf" <<EOT
base_dir = $STATE/dovecot-run
state_dir = $STATE/dovecot-state
log_path = $STATE/dovecot.log
info_log_path = $STATE/dovecot.log
auth_verbose = yes
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$STATE/server.crt
ssl_key = <$STATE/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
first_valid_uid = 1
# Test instance: no growing delay after failed logins from loopback.
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
auth_mechanisms = plain login xoauth2 oauthbearer
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:$STATE/mail/%u
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $STATE/users
}
# Tokens (XOAUTH2, OAUTHBEARER) are checked by the introspection endpoint; a
# password never goes there.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $STATE/dovecot-oauth2.conf.ext
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$STATE/mail/%u
}
EOT
  cat > "$STATE/dovecot-oauth2.conf.ext" <<EOT
introspection_mode = post
introspection_url = http://127.0.0.1:10880/introspect
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
EOT
  cat >> "$STATE/dovecot.conf" <<EOT
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 10143
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = 10993
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = 10110
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = 10995
    ssl = yes
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
EOT
}

postfix_conf() {
  local d="$STATE/postfix"
  local q="$STATE/postfix-queue"
  mkdir -p "$d" "$q" "$STATE/postfix-data"
  chown postfix "$STATE/postfix-data"
  for sub in active bounce corrupt defer deferred flush hold incoming private saved trace; do
    mkdir -p "$q/$sub"; chown postfix "$q/$sub"; chmod 700 "$q/$sub"
  done
  mkdir -p "$q/pid" "$q/public" "$q/maildrop"
  chown postfix:postdrop "$q/public" "$q/maildrop"; chmod 710 "$q/public"; chmod 730 "$q/maildrop"
  cat > "$d/main.cf" <<EOT
compatibility_level = 3.6
queue_directory = $STATE/postfix-queue
data_directory = $STATE/postfix-data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_transport = error:local delivery is disabled
maillog_file_prefixes = $STATE
maillog_file = $STATE/postfix.log
smtpd_tls_cert_file = $STATE/server.crt
smtpd_tls_key_file = $STATE/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $STATE/dovecot-run/auth-postfix
smtpd_sasl_auth_enable = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject
EOT
  cat > "$d/master.cf" <<EOT
10587     inet  n       -       n       -       -       smtpd -o smtpd_tls_security_level=encrypt
10025     inet  n       -       n       -       -       smtpd -o smtpd_tls_security_level=none
# Relays that decide by the client's address (no login): loopback is in
# mynetworks on 10026 and is not on 10027.
10026     inet  n       -       n       -       -       smtpd -o mynetworks=127.0.0.0/8 -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination -o smtpd_sasl_auth_enable=no
10027     inet  n       -       n       -       -       smtpd -o mynetworks=192.0.2.0/24 -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination -o smtpd_sasl_auth_enable=no
# A relay that recognises its clients by TLS certificate (loopback is not in
# mynetworks): it asks for one and relays for a certificate its devices CA issued.
10028     inet  n       -       n       -       -       smtpd -o mynetworks=192.0.2.0/24 -o smtpd_tls_ask_ccert=yes -o smtpd_tls_loglevel=1 -o smtpd_tls_CAfile=$STATE/clientca.crt -o tls_append_default_CA=no -o smtpd_relay_restrictions=permit_mynetworks,permit_tls_all_clientcerts,reject_unauth_destination -o smtpd_sasl_auth_enable=no
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOT
}

wait_port() {
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "port $1 did not open" >&2
  return 1
}

start() {
  command -v dovecot >/dev/null && command -v postfix >/dev/null && command -v openssl >/dev/null \
    || { echo "dovecot, postfix or openssl is not installed" >&2; return 1; }
  stop
  rm -rf "$STATE"; mkdir -p "$STATE"
  certs
  dovecot_conf
  postfix_conf
  : > "$STATE/dovecot.log"; : > "$STATE/postfix.log"
  chmod 666 "$STATE/dovecot.log"
  # Daemons must not keep this script's stdout open (a caller may be piping it).
  dovecot -c "$STATE/dovecot.conf" >>"$STATE/start.log" 2>&1
  # The master daemon directly: `postfix start` insists on a system main.cf.
  setsid /usr/lib/postfix/sbin/master -c "$STATE/postfix" -d </dev/null >>"$STATE/start.log" 2>&1 &
  for p in 10143 10993 10110 10995 10587 10025 10026 10027 10028; do wait_port "$p"; done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) ports ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 3 ;;
esac
