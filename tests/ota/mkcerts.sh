#!/bin/sh
# mkcerts.sh - certificates for the HTTPS tests of ecard-server, made with
# openssl: a CA (ca.pem) and the server's certificate it signs
# (server.pem, server.key; for 127.0.0.1 and localhost), and a second CA
# that signed nothing of ours (other-ca.pem).
#
# usage: mkcerts.sh DIR
set -eu
cd "$1"
days=2
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
	-subj "/CN=ecard test CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
	-subj "/CN=another CA" -keyout other-ca.key -out other-ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
	-keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days \
	-extfile server.ext -out server.pem 2>/dev/null
chmod 600 ./*.key
