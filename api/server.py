"""Serving the API with uvicorn, with a `reconnect` notice to websocket clients before a stop.

Uvicorn closes websockets (1012) before the app's lifespan shutdown runs, so the notice has to
come first, from the server's own shutdown.
"""

import asyncio
import socket

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.live.settings import LiveSettings
from api.settings import ApiSettings


class NoticeServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI, grace_s: float) -> None:
        super().__init__(config)
        self.fastapi = app
        self.grace_s = grace_s

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        hub = getattr(self.fastapi.state, "live_hub", None)
        if hub is not None:
            for server in self.servers:
                server.close()  # no new connections while clients are told to move
            await hub.announce_shutdown(self.grace_s)
        await super().shutdown(sockets)


def serve(settings: ApiSettings, live: LiveSettings | None = None) -> None:
    live = live or LiveSettings()
    app = create_app(settings, live)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        ws_max_size=live.max_frame_bytes * 4,
        ws_ping_interval=None,  # the protocol's own heartbeats keep connections alive
        ws_per_message_deflate=live.per_message_deflate,
        backlog=4096,
    )
    asyncio.run(NoticeServer(config, app, live.shutdown_grace_s).serve())
