#!/usr/bin/env python3
"""`meson install` into a temporary DESTDIR installs every file the flatpak manifest expects.

Usage: check-install.py MESON BUILD_DIR MANIFEST APP_ID PREFIX GUI(true|false) LANG...

The flatpak builds Kiln with meson (-Ddevelopment=false) and runs the manifest's "command"; the
GNOME runtime finds the app through its desktop file, metainfo, icons and GSettings schema, all
named by the app id.  This installs the build directory (no rebuild: meson test has built it) and
checks each of those files exists and is not empty, plus the man pages, the translations and
the user guide with its pictures and the pages it links to.
"""
import json
import os
import re
import subprocess
import sys
import tempfile


def main():
    meson, build, manifest_path, app_id, prefix, gui = sys.argv[1:7]
    langs = sys.argv[7:]
    gui = gui == "true"
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    problems = []
    # a development build installs under the ".Devel" app id; the flatpak uses the plain one
    if not (app_id == manifest["id"] or app_id == manifest["id"] + ".Devel"):
        problems.append(f"{manifest_path}: id {manifest['id']} is not the build's app id {app_id}")
    kiln = [m for m in manifest["modules"] if isinstance(m, dict) and m.get("name") == "kiln"]
    if not kiln or kiln[0].get("buildsystem") != "meson":
        problems.append(f"{manifest_path}: no module \"kiln\" built with meson")

    with tempfile.TemporaryDirectory(prefix="kiln-install-") as destdir:
        r = subprocess.run([meson, "install", "-C", build, "--no-rebuild", "--quiet",
                            "--destdir", destdir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            print(r.stdout)
            print(f"meson install --destdir {destdir} failed with {r.returncode}")
            return 1
        root = os.path.join(destdir, prefix.lstrip("/"))
        share = os.path.join(root, "share")
        expected = [
            os.path.join(root, "bin", "kiln-cli"),
            os.path.join(share, "man", "man1", "kiln-cli.1"),
            os.path.join(share, "doc", "kiln", "guide.md"),
        ]
        if gui:
            expected += [
                os.path.join(root, "bin", manifest["command"]),
                os.path.join(share, "applications", app_id + ".desktop"),
                os.path.join(share, "metainfo", app_id + ".metainfo.xml"),
                os.path.join(share, "icons", "hicolor", "scalable", "apps", app_id + ".svg"),
                os.path.join(share, "icons", "hicolor", "symbolic", "apps", app_id + "-symbolic.svg"),
                os.path.join(share, "glib-2.0", "schemas", app_id + ".gschema.xml"),
                os.path.join(share, "man", "man1", "kiln.1"),
            ]
        expected += [os.path.join(share, "locale", lang, "LC_MESSAGES", "kiln.mo") for lang in langs]
        # the guide's pictures, as it names them
        guide = os.path.join(share, "doc", "kiln", "guide.md")
        if os.path.isfile(guide):
            with open(guide, encoding="utf-8") as f:
                text = f.read()
            for m in re.finditer(r"!\[[^\]]*\]\(([^) ]+)", text):
                expected.append(os.path.join(share, "doc", "kiln", m.group(1)))
            for m in re.finditer(r"\]\(([a-z-]+\.md)", text):
                expected.append(os.path.join(share, "doc", "kiln", m.group(1)))
        expected = list(dict.fromkeys(expected))
        for path in expected:
            shown = os.path.relpath(path, destdir)
            if not os.path.isfile(path):
                problems.append(f"not installed: /{shown}")
            elif os.path.getsize(path) == 0:
                problems.append(f"installed but empty: /{shown}")
            elif "/bin/" in path and not os.access(path, os.X_OK):
                problems.append(f"installed but not executable: /{shown}")
        # the desktop file starts the installed command and names the installed icon
        desktop = os.path.join(share, "applications", app_id + ".desktop")
        if gui and os.path.isfile(desktop):
            with open(desktop, encoding="utf-8") as f:
                entries = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
            if entries.get("Icon") != app_id:
                problems.append(f"{app_id}.desktop: Icon={entries.get('Icon')}, not {app_id}")
            if entries.get("Exec", "").split(" ")[0] != manifest["command"]:
                problems.append(f"{app_id}.desktop: Exec={entries.get('Exec')} does not run {manifest['command']}")
        for p in problems:
            print(p)
        if not problems:
            print(f"meson install put all {len(expected)} expected files under {prefix}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
