"""The FastAPI service: REST over PostgreSQL, websocket odds streams fed from Kafka."""
