"""What the tools work with while the server runs: the API client and the local library."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from .._client import SoraClient
from ._library import LocalLibrary

__all__ = ["Runtime"]


@dataclass
class Runtime:
    client: SoraClient
    library: LocalLibrary
    wait_cap: float  # the longest one wait_for_video call may block
    _locks: dict[str, anyio.Lock] = field(default_factory=dict[str, anyio.Lock])

    def lock(self, video_id: str) -> anyio.Lock:
        """One lock per video: a download and a delete of the same video never interleave."""
        return self._locks.setdefault(video_id, anyio.Lock())
