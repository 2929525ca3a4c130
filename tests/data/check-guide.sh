#!/bin/sh
# The user guide (docs/guide.md): every image it shows exists, is a PNG of at most 200 KB, and
# every image in docs/images/ is shown; every relative link to another file exists.
# Usage: check-guide.sh SOURCE_ROOT
set -eu
cd "$1/docs"
guide=guide.md
[ -f "$guide" ] || { echo "docs/$guide does not exist"; exit 1; }
status=0
# ![alt](path) and <img src="path">
images=$(grep -o '!\[[^]]*\]([^)]*)' "$guide" | sed 's/.*](\([^) ]*\).*/\1/'; \
         grep -o '<img [^>]*src="[^"]*"' "$guide" | sed 's/.*src="\([^"]*\)"/\1/')
n=0
for img in $images; do
  n=$((n + 1))
  if [ ! -f "$img" ]; then
    echo "docs/$guide shows $img, which does not exist"; status=1; continue
  fi
  magic=$(od -An -c -N4 "$img" | tr -d ' ')
  [ "$magic" = "211PNG" ] || { echo "docs/$img is not a PNG file"; status=1; }
  size=$(wc -c < "$img")
  [ "$size" -le 204800 ] || { echo "docs/$img is $size bytes (keep images under 200 KB)"; status=1; }
done
# the walk-through has a screenshot of each step panel the app tests photograph
[ $n -ge 6 ] || { echo "docs/$guide shows only $n images"; status=1; }
for f in images/*.png; do
  [ -f "$f" ] || continue
  echo "$images" | grep -qx "$f" || { echo "docs/$f is not shown in docs/$guide"; status=1; }
done
# relative links [text](file.md#anchor) to files of the repository
for link in $(grep -o '[^!]\[[^]]*\]([^)]*)' "$guide" | sed 's/.*](\([^) ]*\).*/\1/' | \
              grep -v '^[a-z]*:' | grep -v '^#' | sed 's/#.*//' | sort -u); do
  [ -e "$link" ] || { echo "docs/$guide links to $link, which does not exist"; status=1; }
done
[ $status -eq 0 ] && echo "docs/$guide: $n images and all links present"
exit $status
