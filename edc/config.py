"""Settings, built once at the entry point from the environment and passed down explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from edc import errors

DEFAULT_DATA_DIR = "edc-data"
SUPPORTED_DATABASE_SCHEMES = ("sqlite", "postgresql")


class Settings(BaseModel):
    """Where edc keeps its data.

    ``EDC_DATA_DIR`` (default ``./edc-data``) holds the embedded SQLite warehouse and generated
    files; ``EDC_DATABASE_URL`` overrides the warehouse (SQLite file or PostgreSQL).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path
    database_url: str

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        scheme = url.split(":", 1)[0].split("+", 1)[0]
        if scheme not in SUPPORTED_DATABASE_SCHEMES:
            raise ValueError(
                f"EDC_DATABASE_URL must start with sqlite:// or postgresql://, got {url!r}"
            )
        return url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from environment variables.

    :raises errors.BadInputError: when a variable holds an unusable value.
    """
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("EDC_DATA_DIR") or DEFAULT_DATA_DIR)
    database_url = env.get("EDC_DATABASE_URL") or f"sqlite:///{data_dir / 'warehouse.sqlite3'}"
    try:
        return Settings(data_dir=data_dir, database_url=database_url)
    except ValueError as exc:
        raise errors.BadInputError("invalid settings", str(exc)) from None
