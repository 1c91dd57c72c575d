"""Settings, built once at the entry point from the environment and passed down explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from edc import errors

DEFAULT_DATA_DIR = "edc-data"
SUPPORTED_DATABASE_SCHEMES = ("sqlite", "postgresql")


class SmartDefaults(BaseModel):
    """SMART Backend Services credentials from the environment (flags override them).

    ``EDC_FHIR_CLIENT_ID``, ``EDC_FHIR_KEY_FILE`` (private key, PEM), ``EDC_FHIR_KID``, and
    optionally ``EDC_FHIR_ALG`` (RS384 or ES384) and ``EDC_FHIR_TOKEN_URL``. The key itself is
    never held in settings: only the path of its file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str | None = None
    key_file: Path | None = None
    kid: str | None = None
    alg: str = "RS384"
    token_url: str | None = None


class Settings(BaseModel):
    """Where edc keeps its data.

    ``EDC_DATA_DIR`` (default ``./edc-data``) holds the embedded SQLite warehouse and generated
    files; ``EDC_DATABASE_URL`` overrides the warehouse (SQLite file or PostgreSQL).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path
    database_url: str
    smart: SmartDefaults = SmartDefaults()

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
    smart = SmartDefaults(
        client_id=env.get("EDC_FHIR_CLIENT_ID") or None,
        key_file=Path(env["EDC_FHIR_KEY_FILE"]) if env.get("EDC_FHIR_KEY_FILE") else None,
        kid=env.get("EDC_FHIR_KID") or None,
        alg=env.get("EDC_FHIR_ALG") or "RS384",
        token_url=env.get("EDC_FHIR_TOKEN_URL") or None,
    )
    try:
        return Settings(data_dir=data_dir, database_url=database_url, smart=smart)
    except ValueError as exc:
        raise errors.BadInputError("invalid settings", str(exc)) from None
