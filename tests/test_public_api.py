"""The public surface of ``sora_mcp`` is pinned: adding or removing a name is a reviewed change here."""

from __future__ import annotations

import inspect
import typing

import sora_mcp

PUBLIC = {
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssetExpiredError",
    "AssetKind",
    "AuthStyle",
    "AuthenticationError",
    "Backend",
    "BadRequestError",
    "Character",
    "ConfigurationError",
    "ConflictError",
    "Content",
    "DeletedVideo",
    "DownloadResult",
    "FitMode",
    "ImageReference",
    "ImageReferenceError",
    "IncompleteDownloadError",
    "InputError",
    "InternalServerError",
    "MissingAPIKeyError",
    "MissingBaseURLError",
    "ModelNotAvailableError",
    "NotFoundError",
    "Order",
    "PathNotAllowedError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "Settings",
    "SoraClient",
    "SoraError",
    "Status",
    "StorageError",
    "Transport",
    "UnprocessableEntityError",
    "UnsupportedContentError",
    "UnsupportedOperationError",
    "Video",
    "VideoError",
    "VideoJobError",
    "VideoList",
    "VideoVariant",
    "WaitTimeoutError",
    "__version__",
}


def test_all_is_pinned() -> None:
    assert set(sora_mcp.__all__) == PUBLIC
    assert sorted(sora_mcp.__all__) == sora_mcp.__all__, "kept sorted"
    for name in sora_mcp.__all__:
        assert hasattr(sora_mcp, name), name


def test_every_error_is_in_the_tree_and_exported() -> None:
    exported = [getattr(sora_mcp, name) for name in sora_mcp.__all__]
    errors = [item for item in exported if inspect.isclass(item) and issubclass(item, BaseException)]
    assert len(errors) > 20
    for error in errors:
        assert issubclass(error, sora_mcp.SoraError), error
    assert set(sora_mcp._errors.__all__) <= set(sora_mcp.__all__), "every error class is public"


def test_types_in_public_signatures_are_exported() -> None:
    """Every class or alias a public method's signature names is importable from ``sora_mcp``."""
    exported = {getattr(sora_mcp, name) for name in sora_mcp.__all__}
    aliases = {name for name in sora_mcp.__all__ if not inspect.isclass(getattr(sora_mcp, name))}
    for name, method in inspect.getmembers(sora_mcp.SoraClient, inspect.isfunction):
        if name.startswith("_"):
            continue
        namespace = {**vars(sora_mcp._client), **vars(sora_mcp)}
        hints = typing.get_type_hints(method, namespace, namespace)
        for hint in hints.values():
            for part in _parts(hint):
                if inspect.isclass(part) and part.__module__.startswith("sora_mcp"):
                    assert part in exported, f"SoraClient.{name} names {part.__name__}, which is not exported"
    source = inspect.getsource(sora_mcp.SoraClient)
    for alias in ("FitMode", "VideoVariant", "Order"):
        assert alias in aliases and alias in source, alias


def _parts(hint: object) -> list[object]:
    args = typing.get_args(hint)
    return [hint, *(part for arg in args for part in _parts(arg))]
