"""Configuration: one object, built once at the edge (CLI > environment > defaults), passed down.

Nothing is read at import time. ``Settings()`` reads the environment when it is constructed;
keyword arguments (from the CLI) win over it.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = [
    "LOOPBACK_HOSTS",
    "AuthStyle",
    "Backend",
    "CreateEncoding",
    "Settings",
    "Transport",
    "default_output_dir",
    "default_state_dir",
]

AuthStyle = Literal["bearer", "azure", "none"]
Backend = Literal["api", "emulator"]
Transport = Literal["stdio", "sse", "streamable-http"]
CreateEncoding = Literal["auto", "multipart", "json"]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` taken out, for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def default_output_dir() -> Path:
    """Per-user folder for downloads: ~/Movies/sora-mcp on macOS, ~/Videos/sora-mcp elsewhere."""
    folder = "Movies" if sys.platform == "darwin" else "Videos"
    return Path.home() / folder / "sora-mcp"


def default_state_dir() -> Path:
    """Per-user folder for state kept between runs (the spend ledger): $XDG_STATE_HOME/sora-mcp when that
    is set, else ~/Library/Application Support/sora-mcp on macOS, %LOCALAPPDATA%\\sora-mcp on Windows and
    ~/.local/state/sora-mcp elsewhere."""
    xdg = os.environ.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "sora-mcp"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "sora-mcp"
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "")
        return (Path(local) if local else Path.home() / "AppData" / "Local") / "sora-mcp"
    return Path.home() / ".local" / "state" / "sora-mcp"


class Settings(BaseSettings):
    """Every setting of sora-mcp. Environment variables are listed in each field's aliases: the
    field name (for CLI/kwargs) first, then our SORA_MCP_* variable, then the conventional ones."""

    model_config = SettingsConfigDict(
        env_prefix="SORA_MCP_",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
        env_ignore_empty=True,
    )

    # -- the server speaking /v1/videos -------------------------------------------------------
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("api_key", "SORA_MCP_API_KEY", "OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"),
        description="API key for the Videos API server (OPENAI_API_KEY).",
    )
    base_url: str | None = Field(
        default=None,  # OpenAI's own Videos API shut down on 2026-09-24: no default serves it any more
        validation_alias=AliasChoices("base_url", "SORA_MCP_BASE_URL", "OPENAI_BASE_URL"),
        description="Base URL of a server that speaks /v1/videos (OPENAI_BASE_URL); unset until configured.",
    )
    auth_style: AuthStyle = Field(
        default="bearer",
        validation_alias=AliasChoices("auth_style", "SORA_MCP_AUTH_STYLE"),
        description="How the key is sent: 'bearer' (Authorization: Bearer), 'azure' (api-key header) or 'none'.",
    )
    organization: str | None = Field(
        default=None,
        validation_alias=AliasChoices("organization", "SORA_MCP_ORGANIZATION", "OPENAI_ORG_ID", "OPENAI_ORGANIZATION"),
        description="OpenAI-Organization header.",
    )
    project: str | None = Field(
        default=None,
        validation_alias=AliasChoices("project", "SORA_MCP_PROJECT", "OPENAI_PROJECT_ID", "OPENAI_PROJECT"),
        description="OpenAI-Project header.",
    )
    api_version: str | None = Field(
        default=None,
        validation_alias=AliasChoices("api_version", "SORA_MCP_API_VERSION", "OPENAI_API_VERSION"),
        description="api-version query parameter, for Azure deployments that still require one.",
    )
    timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for one HTTP response.")
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for a connection.")
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries of idempotent calls (GET, DELETE).")
    max_download_bytes: int = Field(
        default=4 * 1024**3, gt=0, description="Largest asset a download accepts, in bytes (a real clip is a few MB)."
    )
    download_timeout: float = Field(
        default=900.0, gt=0, description="Seconds one download may take in all, retries included."
    )
    create_encoding: CreateEncoding = Field(
        default="auto",
        description="How creates are encoded: 'multipart' (as OpenAI's SDK; vLLM-Omni accepts only this), 'json', "
        "or 'auto' (multipart unless the body needs JSON, switching once when a server refuses the encoding).",
    )

    # -- defaults for new videos ------------------------------------------------------------------
    model: str = Field(default="sora-2", min_length=1, description="Model (or Azure deployment) for new videos.")
    size: str = Field(default="720x1280", description="Default WIDTHxHEIGHT of new videos.")
    seconds: str = Field(default="4", description="Default duration of new videos, in seconds.")

    # -- local files ------------------------------------------------------------------------------
    output_dir: Path = Field(
        default_factory=default_output_dir, description="Downloads are written only below this folder."
    )
    input_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [Path.home()],
        description="Folders from which reference images may be read (os.pathsep-separated in the env).",
    )

    # -- the MCP server ---------------------------------------------------------------------------
    read_only: bool = Field(default=False, description="Leave out every tool that creates, spends or deletes.")
    wait_timeout: float = Field(
        default=45.0,
        gt=0,
        le=3600,
        description="Default seconds a wait_for_video call blocks before returning.",
    )
    poll_interval: float = Field(
        default=2.0, gt=0, description="Seconds between polls when the server sends no poll-after hint."
    )
    backend: Backend = Field(
        default="api", description="'api' talks to base_url; 'emulator' runs the local emulator in-process."
    )
    emulator_render_seconds: float = Field(
        default=3.0, ge=0, description="How long the embedded emulator takes to 'generate' a video."
    )

    # -- spending: prices, limits, confirmation, duplicates (see _spend.py) -----------------------
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Folder of the spend ledger (SQLite), shared by every sora-mcp process of this user.",
    )
    prices: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict[str, float],
        description="USD per second of video by model, for models the catalog does not price "
        "(MODEL=USD_PER_SECOND, comma-separated in the env); wins over the catalog.",
    )
    max_cost_per_video: float | None = Field(
        default=None, ge=0, description="Refuse a create estimated above this (USD)."
    )
    daily_budget: float | None = Field(default=None, ge=0, description="USD per local calendar day across creates.")
    monthly_budget: float | None = Field(default=None, ge=0, description="USD per calendar month across creates.")
    confirm_above: float | None = Field(
        default=None, ge=0, description="Ask the user before sending a create estimated above this (USD)."
    )
    dedupe_window: float = Field(
        default=900.0,
        ge=0,
        description="Seconds during which an identical create returns the job already made (0: off).",
    )

    # -- HTTP transports --------------------------------------------------------------------------
    transport: Transport = Field(default="stdio", description="stdio (default), sse or streamable-http.")
    host: str = Field(default="127.0.0.1", description="Address the HTTP transports bind to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port of the HTTP transports.")
    auth_token: SecretStr | None = Field(
        default=None, description="Bearer token HTTP clients must send (required when binding beyond loopback)."
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra Origin values the HTTP transports accept (comma-separated in the env)."
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra Host values the HTTP transports accept (comma-separated in the env)."
    )

    @field_validator("allowed_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("input_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part]
        return value

    @field_validator("prices", mode="before")
    @classmethod
    def _parse_prices(cls, value: object) -> object:
        """'m1=0.1,m2=0.2' (env) or ['m1=0.1', 'm2=0.2'] (repeated --price) as {model: USD per second}."""
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            return value
        prices: dict[str, str] = {}
        for entry in value:
            text = str(entry).strip()
            if not text:
                continue
            model, sep, price = text.rpartition("=")
            if not sep or not model.strip() or not price.strip():
                raise ValueError(f"price {text!r} is not MODEL=USD_PER_SECOND (e.g. my-model=0.12)")
            prices[model.strip()] = price.strip()
        return prices

    @field_validator("prices")
    @classmethod
    def _check_prices(cls, value: dict[str, float]) -> dict[str, float]:
        for model, price in value.items():
            if not math.isfinite(price) or price < 0:
                raise ValueError(f"the price of {model} must be a finite number of USD per second, >= 0")
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base URL {without_credentials(value)!r} must start with http:// or https://")
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _clean_key(cls, value: object) -> object:
        """Keys read from files end in a newline; one with control characters inside cannot be sent (and
        an HTTP library would echo it in its error). Never quote the key in the message."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            return value
        key = value.strip()
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in key) or " " in key:
            raise ValueError(
                "the API key holds spaces or control characters inside it; set it to the key alone "
                "(no quotes, no line breaks)"
            )
        return key or None

    @field_validator("output_dir")
    @classmethod
    def _absolute_output_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("state_dir")
    @classmethod
    def _absolute_state_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("input_roots")
    @classmethod
    def _absolute_roots(cls, value: list[Path]) -> list[Path]:
        return [root.expanduser().resolve() for root in value]

    @property
    def shown_base_url(self) -> str:
        """The base URL as it may be shown: without any ``user:password@``."""
        return without_credentials(self.base_url) if self.base_url else "(no server configured)"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never be shown: the key, and a password in the base URL."""
        password = urlsplit(self.base_url or "").password
        return tuple(value for value in (self.api_key_value, password) if value)

    @property
    def api_key_value(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None
