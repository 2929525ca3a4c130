#!/bin/sh
# Every source or UI file with translatable strings must be listed in po/POTFILES.in, and every
# listed file must exist.  Usage: check-potfiles.sh SOURCE_ROOT
set -eu
root=$1
cd "$root"
status=0
listed=$(grep -v '^#' po/POTFILES.in | sed '/^$/d')
for f in $listed; do
  [ -f "$f" ] || { echo "POTFILES.in lists $f, which does not exist"; status=1; }
done
for f in $(grep -rlE '(^|[^A-Za-z0-9_])(N?_|C_|g_dngettext|ngettext) ?\(' src/app src/cli 2>/dev/null; \
           grep -rl 'translatable="yes"' ui 2>/dev/null); do
  echo "$listed" | grep -qx "$f" || { echo "$f has translatable strings but is not in po/POTFILES.in"; status=1; }
done
[ $status -eq 0 ] && echo "POTFILES.in is complete ($(echo "$listed" | wc -l) files)"
exit $status
