# Sourced by run.sh and run-tests.sh: make .venv and install the project into it.
# Reinstalls only when pyproject.toml changed since the last install.
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.overseer-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch "$stamp"
fi
# Qt's xcb platform plugin needs these X libraries to show a window on Linux.
qt_libs_missing() {
  for lib in libxcb-cursor.so.0 libxkbcommon-x11.so.0 libEGL.so.1 libGL.so.1 \
             libfontconfig.so.1 libdbus-1.so.3; do
    ldconfig -p 2>/dev/null | grep -q "$lib" || return 0
  done
  return 1
}
if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null && qt_libs_missing; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 \
      libxcb-render-util0 libxcb-image0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libegl1 \
      libgl1 libfontconfig1 libdbus-1-3 >/dev/null 2>&1 || true
  else
    echo "note: Qt may need libxcb-cursor0 and friends: sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0" >&2
  fi
fi
