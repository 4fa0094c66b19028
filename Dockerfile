# One image for every DarkHorses runtime; docker-compose.yml picks the command per service.

# The Rust extensions (native/: the sinks' COPY encoder, the race analytics) as wheels, built
# with rustup's toolchain.
FROM python:3.11-slim AS native
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl gcc libc6-dev \
    && curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
ENV PATH=/root/.cargo/bin:$PATH
COPY native /src
RUN pip wheel --no-deps -w /wheels /src/pgcopy /src/market

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY darkhorses ./darkhorses
COPY schemas ./schemas
COPY producers ./producers
COPY streams ./streams
COPY api ./api
COPY sql ./sql
COPY --from=native /wheels /wheels
RUN pip install /wheels/*.whl . && useradd --system --uid 10001 darkhorses
USER darkhorses

EXPOSE 8000
ENTRYPOINT ["darkhorses"]
CMD ["api"]
