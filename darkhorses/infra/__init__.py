"""Local infrastructure the project runs by itself: a KRaft Kafka broker and PostgreSQL."""

from darkhorses.infra.errors import InfraError

__all__ = ["InfraError"]
