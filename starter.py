"""Starter CLI for cross-tenant CMK onboardings: `uv run starter.py --help`."""

import os
import sys

from cli.app import app


def main() -> None:
    try:
        app()
        code = 0
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalization: the Temporal client's Rust (tokio) threads can race it and
    # crash a finished command with SIGSEGV/SIGABRT (temporalio/sdk-python#300). Everything the
    # command started has been stopped by now.
    os._exit(code)


if __name__ == "__main__":
    main()
