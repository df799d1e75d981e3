"""Secrets encrypted at rest: alert channel configs and monitor header values.

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256, from ``cryptography``)
prefixed ``enc:v1:``. The key comes from ``VIGIL_SECRET_KEY`` (one or more Fernet
keys separated by commas: the first encrypts, every one decrypts, which is how a
key is rotated without downtime), else from a key file beside the SQLite store
(``vigil.db.key``, created with mode 0600 on first start). A PostgreSQL fleet
must set ``VIGIL_SECRET_KEY`` on every process: processes on several hosts cannot
share a key file.

The column types below encrypt on write and decrypt on read, so the rest of the
code sees plain values. Each engine carries its own ``SecretBox`` (set by
``store.db.Store``), so two stores in one process never mix keys. A value
without the prefix (written before encryption existed) reads as it is and is
encrypted on its next write or by ``vigil admin rotate-secret-key``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.types import TypeEngine

PREFIX = "enc:v1:"
_ENCRYPTED_KEY = "encrypted"
_DIALECT_ATTRIBUTE = "vigil_secret_box"


class SecretKeyError(Exception):
    """No usable key; the message says how to provide one."""


class SecretBox:
    """Encrypts with the first key; decrypts with any."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeyError("no secret key given")
        try:
            self._fernets = [Fernet(k) for k in keys]
        except ValueError:
            raise SecretKeyError(
                "a secret key is not a Fernet key (32 url-safe base64 bytes); generate one "
                "with 'vigil admin rotate-secret-key --generate'"
            ) from None
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._multi.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption; encrypted again on its next write
        try:
            return self._multi.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret does not decrypt with VIGIL_SECRET_KEY: the key changed "
                "without 'vigil admin rotate-secret-key'; put the previous key after the "
                "new one (VIGIL_SECRET_KEY=new,old)"
            ) from None


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def key_file_for(database_url: str) -> Path | None:
    """``<sqlite file>.key`` beside a SQLite store; None for PostgreSQL or :memory:."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + ".key")


def load_box(database_url: str, *, environ: Mapping[str, str] | None = None) -> SecretBox:
    """The box for this store: VIGIL_SECRET_KEY, else the SQLite key file (made if missing)."""
    return SecretBox(load_keys(database_url, environ=environ))


def keys_from_environment(environ: Mapping[str, str] | None = None) -> list[bytes]:
    env = os.environ if environ is None else environ
    configured = env.get("VIGIL_SECRET_KEY", "")
    return [k.strip().encode() for k in configured.split(",") if k.strip()]


def load_keys(database_url: str, *, environ: Mapping[str, str] | None = None) -> list[bytes]:
    """The keys, newest first: VIGIL_SECRET_KEY, else the SQLite key file (made if missing)."""
    configured = keys_from_environment(environ)
    if configured:
        return configured
    path = key_file_for(database_url)
    if path is None:
        raise SecretKeyError(
            "VIGIL_SECRET_KEY is required with PostgreSQL (every process of the fleet needs "
            "the same key to read alert channel and monitor secrets); generate one with "
            "'vigil admin rotate-secret-key --generate' and set it on every process"
        )
    return read_or_create_key_file(path)


def read_or_create_key_file(path: Path) -> list[bytes]:
    """The keys in ``path`` (one per line), creating it with one new key, mode 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(generate_key() + "\n")
    lines = path.read_text(encoding="ascii").split()
    return [line.encode() for line in lines if line]


def write_key_file(path: Path, keys: list[str]) -> None:
    """Replace ``path`` atomically with ``keys`` (mode 0600)."""
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(k + "\n" for k in keys))
    os.replace(tmp, path)


def attach(dialect: Dialect, box: SecretBox) -> None:
    """Give an engine's dialect the box its encrypted columns use."""
    setattr(dialect, _DIALECT_ATTRIBUTE, box)


def _box(dialect: Dialect) -> SecretBox:
    box: SecretBox | None = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    if box is None:
        raise SecretKeyError("this engine has no secret key; open the store with store.db.Store")
    return box


class _JSONDocument(TypeDecorator[dict[str, Any]]):
    """JSON on SQLite, JSONB on PostgreSQL (as ``store.base.JSONDoc``)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


class EncryptedDocument(_JSONDocument):
    """A whole JSON object stored as ``{"encrypted": "enc:v1:..."}`` (alert channel configs)."""

    cache_ok = True  # SQLAlchemy asks each subclass; the type holds no state

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return {_ENCRYPTED_KEY: _box(dialect).encrypt(json.dumps(value, ensure_ascii=False))}

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        sealed = value.get(_ENCRYPTED_KEY) if isinstance(value, dict) else None
        if isinstance(sealed, str) and len(value) == 1:
            opened: dict[str, Any] = json.loads(_box(dialect).decrypt(sealed))
            return opened
        return dict(value)


class MonitorConfig(_JSONDocument):
    """A monitor's config with each ``headers`` value encrypted; the rest stays readable."""

    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        return _map_headers(value, _box(dialect).encrypt)

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        return _map_headers(value, _box(dialect).decrypt)


def _map_headers(config: dict[str, Any] | None, fn: Any) -> dict[str, Any] | None:
    if not isinstance(config, dict) or not isinstance(config.get("headers"), dict):
        return config
    out = copy.copy(config)
    out["headers"] = {k: fn(v) if isinstance(v, str) else v for k, v in config["headers"].items()}
    return out
