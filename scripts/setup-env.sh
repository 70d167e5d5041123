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
if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null \
   && ! ldconfig -p 2>/dev/null | grep -q libxcb-cursor.so.0; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 \
      libxcb-render-util0 libxcb-image0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libegl1 \
      libgl1 libfontconfig1 libdbus-1-3 >/dev/null 2>&1 || true
  else
    echo "note: Qt may need libxcb-cursor0 and friends: sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0" >&2
  fi
fi
