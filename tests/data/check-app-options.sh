#!/bin/sh
# Every option of the application ("kiln --help", Application Options) is described in kiln(1),
# and so is every step name that --step accepts.  Usage: check-app-options.sh KILN MANPAGE
set -eu
kiln=$1 man=$2
status=0
help=$(env -u DISPLAY -u WAYLAND_DISPLAY "$kiln" --help) || { echo "kiln --help failed"; exit 1; }
opts=$(echo "$help" | sed -n '/^Application Options:/,$p' | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' | \
       grep -oE -- '--[a-z0-9-]+') || true
[ -n "$opts" ] || { echo "kiln --help lists no application option"; exit 1; }
page=$(sed 's/\\-/-/g' "$man")
n=0
for o in $opts; do
  n=$((n + 1))
  echo "$page" | grep -Eq -- "^\.(B|BI|BR|TP)? *$o([^a-z0-9-]|\$)" \
    || { echo "$man does not describe $o"; status=1; }
done
steps=$(echo "$help" | sed -n 's/.*--step=STEP.*(\(.*\)).*/\1/p' | tr -d ',')
for s in $steps; do
  echo "$page" | grep -Eq "^\.BR? $s( |\$)" || { echo "$man does not name the step $s of --step"; status=1; }
done
[ $status -eq 0 ] && echo "kiln(1) describes all $n options of kiln --help"
exit $status
