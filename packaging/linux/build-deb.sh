#!/usr/bin/env bash
# Build the Debian package from a one-folder bundle made by PyInstaller.
#
# Usage: packaging/linux/build-deb.sh BUNDLE_DIR VERSION OUT_DIR
# Writes OUT_DIR/overseer-desktop_VERSION_ARCH.deb, which installs the bundle
# under /opt/overseer-desktop, the command /usr/bin/overseer-desktop, the
# .desktop file and the icons. Set DEB_MAINTAINER to name the maintainer.
set -euo pipefail
bundle=${1:?bundle folder}
version=${2:?version}
out=${3:?output folder}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
icons="$root/resources/icons"
package=overseer-desktop

if command -v dpkg >/dev/null; then
  arch=$(dpkg --print-architecture)
else
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
  esac
fi
# The bundle carries the build machine's Python and Qt, linked against its
# C library; the target needs at least that glibc version.
glibc=$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)

# System libraries the bundle loads but does not carry (the C library, X's
# client library, EGL and GL), and those that Qt's xcb platform plugin
# loads. PyInstaller copies most of the latter from the build machine into
# the bundle, but only those that machine has installed. Depending on them
# keeps the package working when a build machine lacks one. libxcb-xinerama0
# is for Qt 5 era plugins; Qt 6 no longer links it, but it costs little.
depends=(
  "libc6 (>= $glibc)"
  libxcb1 libx11-6 libx11-xcb1
  libxcb-cursor0 libxkbcommon0 libxkbcommon-x11-0
  libxcb-icccm4 libxcb-keysyms1 libxcb-render-util0 libxcb-image0
  libxcb-randr0 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1
  libxcb-xfixes0 libxcb-xkb1 libxcb-util1 libxcb-glx0 libxcb-xinerama0
  libegl1 libgl1 libfontconfig1 libfreetype6 libdbus-1-3
)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

install -d "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
  "$stage/usr/share/doc/$package" "$stage/DEBIAN"
cp -a "$bundle" "$stage/opt/$package"
ln -s "/opt/$package/$package" "$stage/usr/bin/$package"
install -m 644 "$here/$package.desktop" "$stage/usr/share/applications/$package.desktop"
for png in "$icons/$package"-*.png; do
  size=$(basename "$png" .png)
  size=${size##*-}
  install -D -m 644 "$png" "$stage/usr/share/icons/hicolor/${size}x${size}/apps/$package.png"
done
install -D -m 644 "$icons/$package.svg" "$stage/usr/share/icons/hicolor/scalable/apps/$package.svg"
cat >"$stage/usr/share/doc/$package/copyright" <<COPYRIGHT
Overseer Desktop
License: Apache-2.0 (/usr/share/common-licenses/Apache-2.0)

/opt/$package/_internal carries third-party software under its own licenses,
among them Python (PSF License), Qt and PySide6 (LGPL-3.0) and routilux.
COPYRIGHT

# Write permissions for the owner only, whatever the build machine's umask.
chmod -R u+rwX,go+rX,go-w "$stage"

installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
depends_line=$(printf '%s, ' "${depends[@]}")
cat >"$stage/DEBIAN/control" <<CONTROL
Package: $package
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-Overseer Desktop developers <overseer-desktop@localhost>}
Installed-Size: $installed_kb
Depends: ${depends_line%, }
Section: devel
Priority: optional
Description: desktop debugger and monitor for Routilux workflows
 Overseer Desktop runs Routilux flows on its own embedded server, or attaches
 to a Routilux server on another host, and shows jobs as they run: a jobs
 table, job details with trace, output and errors, and a live event log.
 .
 The package carries its own Python and Qt under /opt/$package.
CONTROL

mkdir -p "$out"
deb="$out/${package}_${version}_${arch}.deb"
# gzip: xz would save about a fifth of the size but takes minutes on this size.
dpkg-deb --root-owner-group -Zgzip -z6 --build "$stage" "$deb" >/dev/null
echo "Built $deb ($(du -h "$deb" | cut -f1))"
