"""Packaged data: demo flows and routines, style sheets and icons."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEMO_DIR = ROOT / "demo"
