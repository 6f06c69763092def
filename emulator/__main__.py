"""`python -m emulator`: serve the Azure emulator until SIGTERM/SIGINT, printing one ready line."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from emulator.runner import start_emulator


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(".emulator"), help="CA, certificates, keys, state"
    )
    parser.add_argument(
        "--persist", action="store_true", help="keep state in DATA_DIR/state.json across restarts"
    )
    parser.add_argument(
        "--feature-delay", type=float, default=0.5, help="seconds a feature stays Registering"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for fault injection")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if args.feature_delay < 0:
        parser.error("--feature-delay must not be negative")
    return args


async def _serve(args: argparse.Namespace) -> None:
    emulator = await start_emulator(
        data_dir=args.data_dir,
        port=args.port,
        persist=args.persist,
        feature_delay=args.feature_delay,
        seed=args.seed,
    )
    print(f"emulator listening on {emulator.url} ca={emulator.ca_path.resolve()}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(_serve(_arguments(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
