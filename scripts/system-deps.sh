#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium (browser tests of the listening-test
# server) and PostgreSQL (the survey store's tests against a real server).
# Installs what is missing when run as root with apt-get; otherwise says what is missing
# and the tests that need it are skipped with that reason.
set -euo pipefail

need=()
# FluidSynth and a General MIDI soundfont: the 'cues' generator's instruments (else numpy)
command -v fluidsynth >/dev/null 2>&1 || need+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need+=(postgresql)
fi

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
