"""Stand-in for the embedded server, run as a child process by launcher tests.

The environment variable FAKE_SERVER_MODE picks the behaviour:

- ``serve``: print noise and then ``http://127.0.0.1:PORT``, and exit when
  stdin reaches end of file.
- ``exit``: write an error to stderr and exit with code 3 before any URL.
- ``silent``: print no URL and wait for stdin to close.
- ``stubborn``: print the URL, then ignore SIGTERM and stdin end of file.

When FAKE_SERVER_RECORD names a file, the child writes its arguments and the
launcher's environment variables there as JSON before anything else.
"""

import json
import os
import signal
import sys


def record() -> None:
    path = os.environ.get("FAKE_SERVER_RECORD")
    if not path:
        return
    names = ("OVERSEER_API_KEY", "OVERSEER_EXIT_WITH_PARENT", "PYTHONUNBUFFERED")
    with open(path, "w", encoding="utf-8") as file:
        json.dump(
            {
                "argv": sys.argv[1:],
                "env": {name: os.environ.get(name) for name in names},
            },
            file,
        )


def main() -> int:
    record()
    mode = os.environ.get("FAKE_SERVER_MODE", "serve")
    print("fake server starting", file=sys.stderr, flush=True)

    if mode == "exit":
        print("error: flows directory not found", file=sys.stderr, flush=True)
        return 3
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    if mode != "silent":
        print("INFO: loading demo flows", flush=True)
        print("http://127.0.0.1:54321", flush=True)
    sys.stdin.read()  # returns at end of file, when the parent closes the pipe
    print("stdin closed, shutting down", file=sys.stderr, flush=True)

    while mode == "stubborn":
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
