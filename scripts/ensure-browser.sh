#!/usr/bin/env bash
# Headless Chromium for the browser tests (Debian's package: browser downloads fail here),
# and the official MJML validator (npm) for the template validity test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x .cache/node/node_modules/.bin/mjml ]; then
  echo "installing the MJML validator"
  mkdir -p .cache/node
  npm install --silent --no-audit --no-fund --prefix .cache/node mjml@4 >/dev/null
fi
