"""Entry point of the packaged build.

A first argument ``server`` runs the embedded server without importing the
desktop app, so the server that the app starts as its child process does
not load Qt and the app's windows first. Anything else runs the app, as
``python -m app`` does.
"""

import sys


def main() -> int:
    """Run the server or the desktop app and return the exit code."""
    if len(sys.argv) > 1 and sys.argv[1] == "server":
        from embedded_server.cli import main as server_main

        return server_main(sys.argv[2:])

    from app.main import main as app_main

    return app_main()


if __name__ == "__main__":
    sys.exit(main())
