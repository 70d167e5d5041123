"""The server's settings, built from the command line and the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

API_KEY_ENV = "OVERSEER_API_KEY"
EXIT_WITH_PARENT_ENV = "OVERSEER_EXIT_WITH_PARENT"


def default_db_path() -> Path:
    """Return the history file in the user's data folder."""
    return (
        Path(platformdirs.user_data_dir("overseer-desktop", "Overseer")) / "history.db"
    )


@dataclass
class Settings:
    """Everything the server needs to start.

    Attributes:
        api_key: required in ``X-API-Key`` (or ``?api_key=`` on the WebSocket)
            when set; ``None`` leaves the API open.
        cors_origins: browser origins allowed for CORS and the WebSocket
            ``Origin`` check; empty keeps both closed to browsers.
        heartbeat_interval: seconds between the WebSocket ``ping`` messages.
        worker_threads: size of the thread pool that runs routine logic.
    """

    host: str = "127.0.0.1"
    port: int = 0
    routines_dirs: list[Path] = field(default_factory=list)
    flows_dirs: list[Path] = field(default_factory=list)
    demo: bool = False
    db_path: Path = field(default_factory=default_db_path)
    api_key: str | None = None
    allow_evaluate: bool = False
    cors_origins: list[str] = field(default_factory=list)
    heartbeat_interval: float = 15.0
    worker_threads: int = 16
    rate_limit_per_minute: int = 6000
    evaluate_rate_per_minute: int = 120
    max_output_bytes: int = 1_000_000
