#!/usr/bin/env bash
# fetch_doctest.sh DIR — put doctest.h (Debian's doctest-dev) into DIR/doctest/.
# Used by `make test` when the header is not installed system-wide. Downloads
# the .deb with apt (refreshing the package lists first if they are empty)
# and unpacks only the header; nothing is installed and nothing is committed.
set -euo pipefail
dest=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
how="install it with 'apt-get install doctest-dev' (or put doctest.h 2.4.x in $dest/doctest/)"

cd "$tmp"
if ! apt-get download doctest-dev >/dev/null 2>&1; then
  # A fresh machine has empty package lists: refresh them, then retry.
  apt-get update >/dev/null 2>&1 || true
  if ! apt-get download doctest-dev >/dev/null 2>&1; then
    echo "error: doctest not found and 'apt-get download doctest-dev' failed; $how" >&2
    exit 1
  fi
fi
dpkg-deb -x doctest-dev_*.deb unpacked
header=unpacked/usr/include/doctest/doctest.h
[ -f "$header" ] || { echo "error: doctest-dev package has no doctest.h; $how" >&2; exit 1; }
cd - >/dev/null
mkdir -p "$dest/doctest"
cp "$tmp/$header" "$dest/doctest/doctest.h"
echo "doctest: unpacked $(ls "$tmp"/doctest-dev_*.deb | xargs -n1 basename) into $dest/"
