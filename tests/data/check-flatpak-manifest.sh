#!/bin/sh
# flatpak-builder parses the manifest (--show-manifest) and it builds the app "kiln" on the GNOME
# runtime with FFTW.  Usage: check-flatpak-manifest.sh MANIFEST   Skips (77) without flatpak-builder
# (tools/install-deps installs it).
set -eu
manifest=$1
command -v flatpak-builder >/dev/null 2>&1 || { echo "flatpak-builder is not installed: skipped"; exit 77; }
case $manifest in /*) ;; *) manifest=$(pwd)/$manifest ;; esac
# flatpak-builder makes a .flatpak-builder state folder in the current directory: use a temporary one
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
out=$(flatpak-builder --show-manifest "$manifest" 2>&1) || { echo "$out"; echo "flatpak-builder --show-manifest $manifest failed"; exit 1; }
status=0
for want in '"runtime" *: *"org.gnome.Platform"' '"sdk" *: *"org.gnome.Sdk"' '"command" *: *"kiln"' \
            '"name" *: *"fftw3f"' '"name" *: *"kiln"' '"buildsystem" *: *"meson"' '--enable-float'; do
  echo "$out" | grep -Eq -- "$want" || { echo "the manifest as flatpak-builder reads it has no $want"; status=1; }
done
[ $status -eq 0 ] && echo "flatpak-builder reads $manifest ($(echo "$out" | wc -l) lines)"
exit $status
