#!/bin/sh
# TLS for the docker-compose MariaDB services: a private CA and one server certificate naming
# every node (and 127.0.0.1/localhost, for the ports published on this machine). Runs once, from
# the one-shot `tls-certs` service, into the `tls` volume; an existing CA is kept (delete the
# volume to start over). The server key is readable by the MariaDB containers' mysql user (999).
#
#   TLS_DIR    where to write ca.pem, server-cert.pem, server-key.pem (default /tls)
#   TLS_NAMES  space-separated host names for the certificate (default: the compose services)
set -eu
dir="${TLS_DIR:-/tls}"
names="${TLS_NAMES:-global-primary alpha-primary alpha-replica-1 beta-primary beta-replica-1 localhost}"
mkdir -p "$dir"
if [ -s "$dir/ca.pem" ] && [ -s "$dir/server-cert.pem" ] && [ -s "$dir/server-key.pem" ]; then
  echo "make-certs: $dir already has a CA and a server certificate"
  exit 0
fi
command -v openssl >/dev/null 2>&1 || apk add --no-cache openssl >/dev/null
san="IP:127.0.0.1"
for n in $names; do san="$san,DNS:$n"; done
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mxo-data compose CA" \
  -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=mxo-data mariadb" \
  -keyout "$dir/server-key.pem" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" > "$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
  -days 825 -extfile "$dir/server.ext" -out "$dir/server-cert.pem" 2>/dev/null
rm -f "$dir/server.csr" "$dir/server.ext" "$dir/ca.srl"
chmod 644 "$dir/ca.pem" "$dir/server-cert.pem"
chmod 600 "$dir/server-key.pem" "$dir/ca-key.pem"
# The MariaDB image runs mariadbd as mysql (uid 999); skipped where that is not allowed (tests).
chown 999:999 "$dir/server-key.pem" 2>/dev/null || true
echo "make-certs: wrote $dir/ca.pem and a server certificate for: $names"
