#!/bin/sh
# Every manual page renders without a single warning (groff -man -ww; mandoc -Tlint too when it is
# installed).  Usage: check-man.sh PAGE...   Skips (77) without groff.
set -eu
command -v groff >/dev/null 2>&1 || { echo "groff is not installed: skipped"; exit 77; }
status=0
for page in "$@"; do
  [ -s "$page" ] || { echo "$page: missing or empty"; status=1; continue; }
  if LC_ALL=C grep -n '[^ -~	]' "$page"; then
    echo "$page: non-ASCII characters above (use roff escapes: \\(em, \\(de, ...)"; status=1
  fi
  head -n 20 "$page" | grep -q '^\.TH ' || { echo "$page: no .TH line"; status=1; }
  for section in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
    grep -q "^\.SH \"\{0,1\}$section" "$page" || { echo "$page: no $section section"; status=1; }
  done
  warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1) || { echo "$page: groff failed"; status=1; }
  if [ -n "$warnings" ]; then
    echo "$page: groff warnings:"; echo "$warnings"; status=1
  fi
  lines=$(groff -man -Tutf8 "$page" 2>/dev/null | wc -l)
  [ "$lines" -ge 20 ] || { echo "$page: renders to only $lines lines"; status=1; }
  if command -v mandoc >/dev/null 2>&1; then
    lint=$(mandoc -Tlint -W warning "$page" 2>&1) || true
    [ -z "$lint" ] || { echo "$page: mandoc -Tlint:"; echo "$lint"; status=1; }
  fi
  [ $status -eq 0 ] && echo "$page: renders without warnings ($lines lines)"
done
exit $status
