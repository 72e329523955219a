"""sora-mcp: an MCP server, a typed async client and a local emulator for the /v1/videos API."""

from ._client import SoraClient
from ._config import Settings
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AssetExpiredError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ImageReferenceError,
    InputError,
    InternalServerError,
    ModelNotAvailableError,
    NotFoundError,
    PathNotAllowedError,
    PermissionDeniedError,
    RateLimitError,
    SoraError,
    UnprocessableEntityError,
    VideoJobError,
    WaitTimeoutError,
)
from ._images import ImageReference
from ._models import Character, DeletedVideo, DownloadResult, Video, VideoError, VideoList
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssetExpiredError",
    "AuthenticationError",
    "BadRequestError",
    "Character",
    "ConfigurationError",
    "ConflictError",
    "DeletedVideo",
    "DownloadResult",
    "ImageReference",
    "ImageReferenceError",
    "InputError",
    "InternalServerError",
    "ModelNotAvailableError",
    "NotFoundError",
    "PathNotAllowedError",
    "PermissionDeniedError",
    "RateLimitError",
    "Settings",
    "SoraClient",
    "SoraError",
    "UnprocessableEntityError",
    "Video",
    "VideoError",
    "VideoJobError",
    "VideoList",
    "WaitTimeoutError",
    "__version__",
]
