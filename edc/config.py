"""Settings: built once at the entry point, validated, and passed down explicitly.

Where a setting comes from, highest first: a command-line flag (``--user``), an environment
variable (``EDC_*``), the settings file (``--config FILE``, else ``$EDC_CONFIG``, else
``edc.toml`` in the working directory when it exists), the default. The file uses the
environment variables' names in lower case without ``EDC_``::

    # edc.toml
    data_dir = "/var/lib/edc"
    database_url = "postgresql://edc@db.example.org/edc"
    user = "svc-edc"
    fhir_client_id = "edc-backend"
    fhir_key_file = "/etc/edc/smart-key.pem"
    fhir_kid = "edc-2027"

``Settings`` is a plain frozen value (tests build it directly); ``load_settings`` reads the
sources (pydantic-settings), and ``explain_settings`` says which source gave each value for
``edc config show``. There is no module-level instance.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edc import errors
from edc.redact import mask_secrets

DEFAULT_DATA_DIR = "edc-data"
CONFIG_FILE_NAME = "edc.toml"
CONFIG_ENV = "EDC_CONFIG"
ENV_PREFIX = "EDC_"
SUPPORTED_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")
# The first bytes of every SQLite 3 database file (https://www.sqlite.org/fileformat.html).
_SQLITE_HEADER = b"SQLite format 3\x00"

Source = Literal["flag", "env", "file", "default"]


def login_name() -> str:
    """The operating system's name for the person running edc (the default ``user``)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (some containers)
        return f"uid-{os.getuid()}"


class SmartDefaults(BaseModel):
    """SMART Backend Services credentials from the settings (command flags override them).

    The key itself is never held in settings: only the path of its file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str | None = None
    key_file: Path | None = None
    kid: str | None = None
    alg: str = "RS384"
    token_url: str | None = None
    # SMART over plain http off loopback sends tokens in clear: test networks only.
    allow_http: bool = False


class Settings(BaseModel):
    """The effective settings of one edc process.

    :ivar data_dir: holds the embedded SQLite warehouse and generated files.
    :ivar database_url: the warehouse (``sqlite:///PATH`` or ``postgresql://USER@HOST/DB``).
    :ivar user: who is acting: recorded as the actor of what this process changes, and the
        user whose roles apply (default: the operating system's login name).
    :ivar smart: default SMART Backend Services credentials for FHIR servers.
    :ivar fhir_trusted_origins: servers besides a FHIR server that edc may send requests to on
        its behalf (its authorisation server, its Bulk status host).
    :ivar audit_checkpoints: the file of audit checkpoints (default
        ``<data_dir>/audit/checkpoints.ndjson``), outside the database.
    :ivar audit_key_file: the HMAC key of the checkpoints (default
        ``<data_dir>/audit/checkpoint.key``), outside the database.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path
    database_url: str
    user: str = Field(default_factory=login_name, min_length=1)
    smart: SmartDefaults = SmartDefaults()
    fhir_trusted_origins: tuple[str, ...] = ()
    audit_checkpoints: Path | None = None
    audit_key_file: Path | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        scheme = url.split(":", 1)[0].split("+", 1)[0]
        if scheme not in SUPPORTED_DATABASE_SCHEMES or "://" not in url:
            raise ValueError(f"must start with sqlite:/// or postgresql://, got {mask_url(url)!r}")
        return url


# Each setting: its field in the file / after EDC_ in the environment, what it is, whether secret.
@dataclasses.dataclass(frozen=True)
class SettingInfo:
    name: str
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[SettingInfo, ...] = (
    SettingInfo("data_dir", "embedded warehouse and generated files"),
    SettingInfo("database_url", "the warehouse database", secret=True),
    SettingInfo("user", "who is acting (audit actor, roles)"),
    SettingInfo("fhir_client_id", "SMART client id"),
    SettingInfo("fhir_key_file", "SMART private key file (PEM)"),
    SettingInfo("fhir_kid", "SMART key id"),
    SettingInfo("fhir_alg", "SMART signing algorithm (RS384 or ES384)"),
    SettingInfo("fhir_token_url", "SMART token endpoint (default: discovered)"),
    SettingInfo("fhir_allow_http", "SMART over plain http off 127.0.0.1 (1: test networks only)"),
    SettingInfo("fhir_trusted_origins", "other servers a FHIR server's requests may go to (URLs)"),
    SettingInfo("audit_checkpoints", "audit checkpoint file, outside the database"),
    SettingInfo("audit_key_file", "HMAC key of the audit checkpoints, outside the database"),
)
_NAMES = frozenset(info.name for info in SETTINGS)


@dataclasses.dataclass(frozen=True)
class Explained:
    """One effective setting for ``edc config show``: value (secrets masked) and its source."""

    name: str
    env: str
    value: str | None
    source: Source


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    config_file: Path | None = None,
    flags: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from flags, environment, settings file and defaults.

    :param environ: the environment (default ``os.environ``).
    :param config_file: the ``--config`` file (default ``$EDC_CONFIG``, else ``./edc.toml``).
    :param flags: settings given on the command line, by name (e.g. ``{"user": "alice"}``).
    :raises errors.BadInputError: (exit 2) naming the setting and where it came from: an
        unreadable or malformed settings file, an unknown setting in it, an unusable value, a
        data directory that is a file, or a SQLite URL naming a file that is not a database.
    """
    values, sources, origin = _collect(environ, config_file, flags)
    settings = _build(values, sources, origin)
    _check_paths(settings, sources, origin)
    return settings


def explain_settings(
    environ: Mapping[str, str] | None = None,
    *,
    config_file: Path | None = None,
    flags: Mapping[str, str] | None = None,
) -> tuple[list[Explained], Path | None]:
    """Every setting's effective value (secrets masked) and source, and the file read if any.

    :raises errors.BadInputError: as ``load_settings``, except the checks on the file system.
    """
    values, sources, origin = _collect(environ, config_file, flags)
    settings = _build(values, sources, origin)
    effective: dict[str, Any] = {
        "data_dir": settings.data_dir,
        "database_url": settings.database_url,
        "user": settings.user,
        **{f"fhir_{k}": v for k, v in settings.smart.model_dump().items()},
        "fhir_trusted_origins": ",".join(settings.fhir_trusted_origins) or None,
        "audit_checkpoints": settings.audit_checkpoints,
        "audit_key_file": settings.audit_key_file,
    }
    explained = []
    for info in SETTINGS:
        value = effective[info.name]
        text = None if value is None else str(value)
        if text is not None and info.secret:
            text = mask_url(text)
        explained.append(Explained(info.name, info.env, text, sources.get(info.name, "default")))
    return explained, origin.file


def mask_url(url: str) -> str:
    """``postgresql://alice:secret@host/db`` -> ``postgresql://alice:***@host/db`` (the one
    masking rule, ``edc.redact.mask_secrets``)."""
    return mask_secrets(url)


@dataclasses.dataclass(frozen=True)
class _Origin:
    file: Path | None

    def describe(self, name: str, source: Source) -> str:
        if source == "env":
            return f"{ENV_PREFIX}{name.upper()} (environment)"
        if source == "file":
            return f"{name} in {self.file}"
        if source == "flag":
            return f"--{name.replace('_', '-')}"
        return f"{name} (default)"


def _collect(
    environ: Mapping[str, str] | None,
    config_file: Path | None,
    flags: Mapping[str, str] | None,
) -> tuple[dict[str, Any], dict[str, Source], _Origin]:
    env = os.environ if environ is None else environ
    path = config_file or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    explicit = path is not None
    path = path or Path(CONFIG_FILE_NAME)
    from_file: dict[str, Any] = {}
    if explicit or path.is_file():
        from_file = _read_file(path)
    else:
        path = None
    from_env = _read_env(env)
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    for source, found in (("file", from_file), ("env", from_env), ("flag", dict(flags or {}))):
        for name, value in found.items():
            if value is None or value == "":
                continue
            values[name] = value
            sources[name] = source  # type: ignore[assignment]
    return values, sources, _Origin(path)


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    # pydantic-settings' environment source: EDC_ prefix, case-insensitive names, only the
    # settings we declare (EDC_TEST_* and the like are not ours).
    from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

    class _Env(BaseSettings):
        model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")
        data_dir: str | None = None
        database_url: str | None = None
        user: str | None = None
        fhir_client_id: str | None = None
        fhir_key_file: str | None = None
        fhir_kid: str | None = None
        fhir_alg: str | None = None
        fhir_token_url: str | None = None
        fhir_allow_http: str | None = None
        fhir_trusted_origins: str | None = None
        audit_checkpoints: str | None = None
        audit_key_file: str | None = None

    source = EnvSettingsSource(_Env)
    source.env_vars = {key.lower(): value for key, value in env.items()}
    return {k: v for k, v in source().items() if k in _NAMES}


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise errors.BadInputError(
            f"settings file {path} not found", "give an existing file to --config / EDC_CONFIG"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.BadInputError(f"cannot read settings file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise errors.BadInputError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _NAMES)
    if unknown:
        raise errors.BadInputError(
            f"{path}: unknown setting(s) {', '.join(unknown)}",
            f"settings: {', '.join(info.name for info in SETTINGS)}",
        )
    for name, value in data.items():
        if not isinstance(value, str):
            raise errors.BadInputError(f"{path}: {name} must be a string, got {value!r}")
    return dict(data)


def _build(values: Mapping[str, Any], sources: Mapping[str, Source], origin: _Origin) -> Settings:
    data_dir = Path(values.get("data_dir") or DEFAULT_DATA_DIR)
    database_url = values.get("database_url") or f"sqlite:///{data_dir / 'warehouse.sqlite3'}"
    smart = {
        key: values[f"fhir_{key}"]
        for key in ("client_id", "key_file", "kid", "alg", "token_url", "allow_http")
        if f"fhir_{key}" in values
    }
    fields: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    if "user" in values:
        fields["user"] = values["user"]
    if "fhir_trusted_origins" in values:
        fields["fhir_trusted_origins"] = tuple(
            url.strip() for url in values["fhir_trusted_origins"].split(",") if url.strip()
        )
    for name in ("audit_checkpoints", "audit_key_file"):
        if name in values:
            fields[name] = Path(values[name])
    try:
        return Settings(**fields, smart=smart)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = [str(part) for part in error["loc"]]
            name = "_".join(["fhir", location[-1]] if location[0] == "smart" else location[:1])
            where = origin.describe(name, sources.get(name, "default"))
            problems.append(f"  {where}: {error['msg'].removeprefix('Value error, ')}")
        raise errors.BadInputError("invalid settings", "\n".join(problems)) from None


def _check_paths(settings: Settings, sources: Mapping[str, Source], origin: _Origin) -> None:
    """Refuse a data directory that is a file and a SQLite URL naming a non-database file."""
    where = origin.describe("data_dir", sources.get("data_dir", "default"))
    blocker = _file_in_the_way(settings.data_dir)
    if blocker is not None:
        raise errors.BadInputError(
            f"{where}: {blocker} is a file, not a directory",
            "point it at a directory (it is created when missing)",
        )
    if not settings.database_url.startswith("sqlite"):
        return
    name = "database_url" if "database_url" in sources else "data_dir"
    where = origin.describe(name, sources.get(name, "default"))
    path_text = settings.database_url.split("///", 1)[-1].split("?", 1)[0]
    if not path_text or path_text == ":memory:" or "///" not in settings.database_url:
        return
    path = Path(path_text)
    blocker = _file_in_the_way(path.parent)
    if blocker is not None:
        raise errors.BadInputError(f"{where}: {blocker} is a file, not a directory")
    if path.is_dir():
        raise errors.BadInputError(f"{where}: {path} is a directory, not a SQLite database")
    if path.is_file():
        try:
            with path.open("rb") as stream:
                header = stream.read(len(_SQLITE_HEADER))
        except OSError as exc:
            raise errors.BadInputError(f"{where}: cannot read {path}: {exc.strerror}") from None
        if header and header != _SQLITE_HEADER:
            raise errors.BadInputError(
                f"{where}: {path} is not a SQLite database",
                "point it at a warehouse made by `edc db upgrade`, or at a new file name",
            )


def _file_in_the_way(directory: Path) -> Path | None:
    """The first existing path of ``directory`` and its parents that is not a directory."""
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None
