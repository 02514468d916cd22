#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium (browser tests of the listening-test
# server), PostgreSQL (the survey store's tests against a real server) and npm, which
# then installs axe-core (accessibility checks run inside the browser test's pages) into
# tests/survey/node_modules (gitignored; versions in tests/survey/package-lock.json).
# Installs what is missing when run as root with apt-get; otherwise says what is missing
# and the tests that need it are skipped with that reason.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need+=(postgresql)
fi
command -v npm >/dev/null 2>&1 || need+=(npm)

install_axe() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/survey"
  if [ -f "$dir/node_modules/axe-core/axe.min.js" ]; then
    return 0
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "system-deps: installing axe-core into $dir/node_modules"
    (cd "$dir" && npm ci --no-audit --no-fund >/dev/null 2>&1 \
      || npm install --no-audit --no-fund >/dev/null) \
      || echo "system-deps: npm could not install axe-core; the accessibility checks will be skipped"
  fi
}
trap install_axe EXIT

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "system-deps: missing ${need[*]} (install them with apt-get as root); tests needing them will be skipped"
fi
