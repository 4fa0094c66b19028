"""Follow live odds with the Python client: best prices per runner, resuming across reconnects.

    python examples/live_odds.py ws://127.0.0.1:8000/v1/stream [race_id ...]

Set DARKHORSES_API_KEY if the server requires a key. Ctrl-C stops.
"""

import asyncio
import contextlib
import os
import sys
from typing import Any

from client import LiveClient


def show(frame: dict[str, Any]) -> None:
    kind = frame["type"]
    if kind == "snapshot":
        print(f"snapshot {frame['race_id']} ({frame['reason']}): {len(frame['prices'])} prices")  # noqa: T201
    elif kind == "delta":
        best = ", ".join(f"{b['horse_id']} {b['price']}" for b in frame.get("best", []))
        flag = " (conflated)" if frame.get("conflated") else ""
        print(f"{frame['race_id']} seq {frame['seq']}{flag}: best {best}")  # noqa: T201
    elif kind in ("heartbeat", "reconnect", "error"):
        print(kind, {k: v for k, v in frame.items() if k not in ("type", "tokens")})  # noqa: T201


async def main(url: str, races: list[str]) -> None:
    subscription: dict[str, Any] = {
        "sub_id": "example",
        "fields": ["best", "prices", "analytics", "market"],
        "format": "fractional",
    }
    if races:
        subscription["filter"] = {"races": races}
    client = LiveClient(url, [subscription], api_key=os.environ.get("DARKHORSES_API_KEY"),
                        on_frame=show)  # fmt: skip
    try:
        await client.run()
    finally:
        print(f"stats: {client.stats}")  # noqa: T201


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8000/v1/stream"
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(target, sys.argv[2:]))
