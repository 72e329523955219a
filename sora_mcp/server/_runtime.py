"""What the tools work with while the server runs: the API client and the local library."""

from __future__ import annotations

import weakref
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
    # Held only while in use: a server that touches thousands of videos keeps no lock it does not need.
    _locks: weakref.WeakValueDictionary[str, anyio.Lock] = field(default_factory=weakref.WeakValueDictionary)

    def lock(self, video_id: str) -> anyio.Lock:
        """One lock per video: a download and a delete of the same video never interleave."""
        lock = self._locks.get(video_id)
        if lock is None:
            lock = self._locks[video_id] = anyio.Lock()
        return lock
