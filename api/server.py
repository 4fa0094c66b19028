"""Serving the API with uvicorn, with a `reconnect` notice to websocket clients before a stop.

Uvicorn closes websockets (1012) before the app's lifespan shutdown runs, so the notice has to
come first, from the server's own shutdown.
"""

import asyncio
import ctypes
import ctypes.util
import gc
import os
import signal
import socket
import subprocess
import sys

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.fanout import LiveHub
from api.live.settings import LiveSettings
from api.settings import ApiSettings


class NoticeServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI, grace_s: float) -> None:
        super().__init__(config)
        self.fastapi = app
        self.grace_s = grace_s
        self.freezing: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        hub = getattr(self.fastapi.state, "live_hub", None)
        self.freezing = asyncio.create_task(_freeze_heap(hub))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        hub = getattr(self.fastapi.state, "live_hub", None)
        if hub is not None:
            for server in self.servers:
                server.close()  # no new connections while clients are told to move
            await hub.announce_shutdown(self.grace_s)
        await super().shutdown(sockets)


async def _freeze_heap(hub: LiveHub | None) -> None:
    """Take what start-up built out of the garbage collector's full passes (`gc.freeze`).

    A full collection walks every tracked object, and most of a worker's are long-lived:
    modules, routes, pydantic schemas, then the books the hub bootstraps from Kafka. Under wrk
    with the pipeline running those passes took 60-170 ms, stalling every connection of the
    worker. Frozen objects are still freed by reference counting; only cycles among them would
    stay, and start-up state is never dropped anyway.
    """
    gc.collect()
    gc.freeze()
    if hub is not None:
        await hub.ready.wait()
        gc.freeze()


def _listening_socket(settings: ApiSettings) -> socket.socket:
    """SO_REUSEPORT lets several API processes share the port; the kernel balances them.

    The protocol must be named (IPPROTO_TCP): asyncio sets TCP_NODELAY on accepted sockets only
    when it is, and without it Nagle holds each response's last segment until the client's
    delayed ACK, about 40 ms on every keep-alive request. TCP_NODELAY on the listener is
    inherited by accepted sockets on Linux, whichever event loop serves them.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(4096)
    return sock


def serve(settings: ApiSettings, live: LiveSettings | None = None) -> None:
    """Serve in this process and, with `workers` > 1, in sibling processes on the same port.

    Each worker is a whole API process (its own Kafka fan-out, pool and caches): any of them can
    serve any client, since all state comes from Kafka and PostgreSQL.
    """
    live = live or LiveSettings()
    live.check_secret(settings.auth_required)  # before any sibling starts
    siblings = [
        subprocess.Popen(
            [sys.executable, "-m", "darkhorses", "api"],
            env={**os.environ, "DARKHORSES_API_WORKERS": "1"},
            preexec_fn=_die_with_parent,
        )
        for _ in range(settings.workers - 1)
    ]
    try:
        _serve_one(settings, live)
    finally:
        for sibling in siblings:
            sibling.send_signal(signal.SIGTERM)
        for sibling in siblings:
            try:
                sibling.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sibling.kill()


def _die_with_parent() -> None:
    """Siblings get SIGTERM if this process dies, however it dies (Linux prctl)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def _serve_one(settings: ApiSettings, live: LiveSettings) -> None:
    app = create_app(settings, live)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=settings.access_log,
        ws_max_size=live.max_frame_bytes * 4,
        ws_ping_interval=None,  # the protocol's own heartbeats keep connections alive
        ws_per_message_deflate=live.per_message_deflate,
        backlog=4096,
    )
    sock = _listening_socket(settings)
    # run(), not asyncio.run(serve()): run() uses the config's loop factory (uvloop when
    # installed, as it is with uvicorn[standard]); asyncio.run() would silently keep asyncio's.
    NoticeServer(config, app, live.shutdown_grace_s).run(sockets=[sock])
