"""Fixtures for these tests: Qt offscreen, a qasync loop and a fake server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
SUPPORT_DIR = str(Path(__file__).resolve().parents[1] / "support")
if SUPPORT_DIR not in sys.path:
    sys.path.insert(0, SUPPORT_DIR)

from qt_fixtures import api, fake_server, qloop, run_async  # noqa: E402, F401
