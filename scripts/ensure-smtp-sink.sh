#!/usr/bin/env bash
# Postfix's C `smtp-sink` for the chaos bench's throughput rounds (Debian package `postfix`;
# only the binary is used, no mail system is configured or started).
set -euo pipefail

if ! command -v smtp-sink >/dev/null 2>&1 && [ ! -x /usr/sbin/smtp-sink ]; then
  echo "installing Debian postfix (for smtp-sink)"
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends postfix >/dev/null
fi
