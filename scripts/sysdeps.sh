#!/usr/bin/env bash
# System packages lakeml's tests and book need: PostgreSQL + PostGIS (the local STAC API),
# Chromium (the rendered-book check) and libpq's headers (pip builds psycopg2 from source for
# datacube, which Geoscience Australia's wofs package requires). Installed with apt when run as root on Debian;
# otherwise a message says what to install. Fast (no apt call) when everything is there.
set -euo pipefail

have_pg() {
  local initdb
  initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] || return 1
  local ver
  ver=$(basename "$(dirname "$(dirname "$initdb")")")
  ls /usr/share/postgresql/"$ver"/extension/postgis.control >/dev/null 2>&1
}
have_chromium() { command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; }
have_libpq_dev() { command -v pg_config >/dev/null 2>&1; }

missing=()
have_pg || missing+=(postgresql postgis)
have_chromium || missing+=(chromium)
have_libpq_dev || missing+=(libpq-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  pkgs=()
  if ! have_pg; then
    # postgresql-NN-postgis-3 matches the distribution's default PostgreSQL major version.
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    pkgs+=("postgresql-$ver-postgis-3")
  fi
  have_chromium || pkgs+=(chromium)
  have_libpq_dev || pkgs+=(libpq-dev gcc python3-dev)
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  have_pg && have_chromium && have_libpq_dev && exit 0
  echo "sysdeps: apt-get finished but PostgreSQL/PostGIS, Chromium or libpq-dev is still missing" >&2
  exit 1
fi

cat >&2 <<MSG
lakeml needs these system packages, which are missing: ${missing[*]}
On Debian/Ubuntu run as root:
  apt-get install postgresql postgresql-<version>-postgis-3 chromium libpq-dev
(conda users: 'conda install -c conda-forge postgresql=15 postgis' brings PostgreSQL and PostGIS.)
MSG
exit 1
