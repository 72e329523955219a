"""A local emulator of the /v1/videos API: the same wire contract, a realistic job lifecycle, real
playable media and fault injection. The embedded default backend and the backbone of the tests."""

from ._app import Emulator
from ._clock import Clock, FakeClock, SystemClock
from ._config import EmulatorConfig
from ._faults import Fault, FaultPlan, RequestStats
from ._server import run, serve_emulator

__all__ = [
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "FakeClock",
    "Fault",
    "FaultPlan",
    "RequestStats",
    "SystemClock",
    "run",
    "serve_emulator",
]
