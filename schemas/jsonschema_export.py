"""Generate the checked-in JSON Schema files, one per event model, for non-Python consumers."""

import json
from pathlib import Path

from schemas.topics import ALL_TOPICS

SCHEMA_DIR = Path(__file__).parent / "jsonschema"


def render_schemas() -> dict[str, str]:
    """File name -> JSON Schema text for every model on a topic."""
    rendered: dict[str, str] = {}
    for topic in ALL_TOPICS:
        schema = topic.model.model_json_schema(mode="serialization")
        schema["$id"] = f"https://darkhorses.dev/schemas/{topic.model.__name__}.json"
        schema["x-topics"] = sorted(t.name for t in ALL_TOPICS if t.model is topic.model)
        rendered[f"{topic.model.__name__}.json"] = (
            json.dumps(schema, indent=2, sort_keys=True) + "\n"
        )
    return rendered


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written
