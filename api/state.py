"""What the lifespan owns and every request can reach, typed."""

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request, WebSocket

from api.fanout import LiveHub
from api.kafka_health import KafkaHealth
from api.microcache import MicroCache
from api.settings import ApiSettings


@dataclass(frozen=True, slots=True)
class State:
    settings: ApiSettings
    pool: asyncpg.Pool
    fanout: LiveHub
    kafka_health: KafkaHealth
    book_cache: MicroCache


async def _from_request(request: Request) -> State:  # async: no thread-pool hop
    state: State = request.state.state
    return state


async def _from_websocket(websocket: WebSocket) -> State:
    state: State = websocket.state.state
    return state


AppState = Annotated[State, Depends(_from_request)]
WsState = Annotated[State, Depends(_from_websocket)]
