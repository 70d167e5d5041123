"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep any test that runs the whole app out of the real log folder.
os.environ.setdefault("OVERSEER_LOG_DIR", str(Path(__import__("tempfile").gettempdir()) / "overseer-test-logs"))

FIXTURES = Path(__file__).parent / "fixtures"
