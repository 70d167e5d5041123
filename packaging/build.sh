#!/usr/bin/env bash
# Build the packaged Overseer Desktop with PyInstaller.
#
# Makes, under dist/ (or --dist DIR):
#   overseer-desktop/                                the one-folder bundle
#   overseer-desktop-VERSION-OS-ARCH.tar.gz          that folder, archived
#   overseer-desktop_VERSION_ARCH.deb                on Linux, when dpkg-deb exists
#
# Usage: ./packaging/build.sh [--dist DIR] [--work DIR] [--no-deb]
# It creates .venv if missing and installs the project with its "packaging"
# extra into it. Set PYTHON to choose the interpreter that creates .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

dist=dist
work=build/pyinstaller
make_deb=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) dist=${2:?--dist needs a folder}; shift 2 ;;
    --work) work=${2:?--work needs a folder}; shift 2 ;;
    --no-deb) make_deb=0; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3}
if [ ! -d .venv ]; then
  "$python" -m venv .venv
fi
venv_python=.venv/bin/python
if [ -x .venv/Scripts/python.exe ]; then
  venv_python=.venv/Scripts/python.exe  # a Windows virtual environment
fi

# Reinstall only when pyproject.toml changed since the last packaging install.
stamp=.venv/.overseer-packaging-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$venv_python" -m pip install --quiet --upgrade pip
  "$venv_python" -m pip install --quiet -e '.[packaging]'
  touch "$stamp"
fi

version=$("$venv_python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=macos ;;
  MINGW*|MSYS*|CYGWIN*) os=windows ;;
  *) os=$(uname -s | tr '[:upper:]' '[:lower:]') ;;
esac
arch=$(uname -m)

"$venv_python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$dist" --workpath "$work" packaging/overseer-desktop.spec

archive="$dist/overseer-desktop-$version-$os-$arch.tar.gz"
# Sorted names and fixed owners, so two builds of one tree archive alike.
tar -C "$dist" --sort=name --owner=0 --group=0 --numeric-owner -cf - overseer-desktop \
  | gzip -n -6 >"$archive"
echo "Built $dist/overseer-desktop/ ($(du -sh "$dist/overseer-desktop" | cut -f1)) and $archive"

if [ "$make_deb" = 1 ] && [ "$os" = linux ]; then
  if command -v dpkg-deb >/dev/null; then
    packaging/linux/build-deb.sh "$dist/overseer-desktop" "$version" "$dist"
  else
    echo "note: dpkg-deb not found; skipped the Debian package" >&2
  fi
fi
