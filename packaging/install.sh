#!/usr/bin/env bash
# Install the unpacked SpA2V Studio folder for this user: the app under ~/.local/opt, a
# launcher in ~/.local/bin, the desktop entry, icon and project file type. Run it again to
# update; remove with: install.sh --uninstall
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX=${PREFIX:-$HOME/.local}
DEST="$PREFIX/opt/spa2v-studio"
# The menus read compiled caches, not the files: rebuild them after every change, removal
# included (else *.spa2v stays an "SpA2V Studio project" that nothing opens).
refresh() {
  if command -v update-mime-database >/dev/null; then update-mime-database "$PREFIX/share/mime" || true; fi
  if command -v update-desktop-database >/dev/null; then update-desktop-database "$PREFIX/share/applications" || true; fi
  if command -v gtk-update-icon-cache >/dev/null && [ -f "$PREFIX/share/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true
  fi
}
if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$DEST" "$PREFIX/bin/spa2v-studio" "$PREFIX/share/applications/spa2v-studio.desktop" \
         "$PREFIX/share/icons/hicolor/scalable/apps/spa2v-studio.svg" \
         "$PREFIX/share/icons/hicolor/256x256/apps/spa2v-studio.png" \
         "$PREFIX/share/mime/packages/spa2v-project.xml"
  refresh
  echo "removed SpA2V Studio from $PREFIX"; exit 0
fi
case "$DEST" in
  *[\"\`\$\\\|]*) echo "install.sh: the folder $DEST has a character a desktop entry cannot hold" \
                       "(\" \` \$ \\ |); set PREFIX to another folder" >&2; exit 2 ;;
esac
mkdir -p "$DEST" "$PREFIX/bin" "$PREFIX/share/applications" "$PREFIX/share/mime/packages" \
         "$PREFIX/share/icons/hicolor/scalable/apps" "$PREFIX/share/icons/hicolor/256x256/apps"
rm -rf "$DEST.new" && cp -a "$HERE" "$DEST.new" && rm -rf "$DEST" && mv "$DEST.new" "$DEST"
ln -sf "$DEST/spa2v-studio" "$PREFIX/bin/spa2v-studio"
# Exec quotes the path (a home folder may have spaces); TryExec takes it as it is. %F: a
# selection of files opens one studio (the first project or sound; the rest are named).
sed "s|^Exec=.*|Exec=\"$DEST/spa2v-studio\" %F|; s|^TryExec=.*|TryExec=$DEST/spa2v-studio|" \
  "$HERE/spa2v-studio.desktop" > "$PREFIX/share/applications/spa2v-studio.desktop"
cp "$HERE/spa2v-studio.svg" "$PREFIX/share/icons/hicolor/scalable/apps/"
cp "$HERE/spa2v-studio.png" "$PREFIX/share/icons/hicolor/256x256/apps/"
cp "$HERE/spa2v-project.xml" "$PREFIX/share/mime/packages/"
refresh
echo "installed SpA2V Studio in $DEST (run: spa2v-studio)"
