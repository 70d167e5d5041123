"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep any test that runs the whole app out of the real log folder.
os.environ.setdefault("OVERSEER_LOG_DIR", str(Path(tempfile.gettempdir()) / "overseer-test-logs"))

# Settings, layouts, templates and watches of tests stay out of the user's
# config folder.
os.environ.setdefault("OVERSEER_CONFIG_DIR", tempfile.mkdtemp(prefix="overseer-test-config-"))

FIXTURES = Path(__file__).parent / "fixtures"
