#!/usr/bin/env bash
# Debian's SpamAssassin 4 for the spam-score test (tests/delivery/test_spam_score.py). Only
# the `spamassassin` command and the rules the package ships are used: the test runs it
# with -L (local tests only), so no DNS, no network rules and no sa-update.
set -euo pipefail

if ! command -v spamassassin >/dev/null 2>&1; then
  echo "installing Debian spamassassin"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends spamassassin >/dev/null
fi
