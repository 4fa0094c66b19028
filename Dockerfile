# One image for every DarkHorses runtime; docker-compose.yml picks the command per service.
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
RUN pip install . && useradd --system --uid 10001 darkhorses
USER darkhorses

EXPOSE 8000
ENTRYPOINT ["darkhorses"]
CMD ["api"]
