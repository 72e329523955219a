"""What we know of each Sora model: accepted sizes and durations, and the price per second.

One table, used by the client (checks before sending, cost estimates), the MCP tools and the
emulator. Models the table does not know pass through unchecked: other servers (Azure
deployments, vLLM-Omni, SGLang Diffusion, gateways) serve other models with other rules.
Sources: docs/contract/CONTRACT.md §7 and §10 (the 2026-03-12 expansion of sizes and durations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._errors import InputError

__all__ = [
    "ALL_SECONDS",
    "KNOWN_MODELS",
    "SPEC_SECONDS",
    "SPEC_SIZES",
    "ModelSpec",
    "check_request",
    "describe_models",
    "estimate_cost",
    "lookup",
]

SPEC_SIZES: tuple[str, ...] = ("720x1280", "1280x720", "1024x1792", "1792x1024")
SPEC_SECONDS: tuple[str, ...] = ("4", "8", "12")
ALL_SECONDS: tuple[str, ...] = ("4", "8", "12", "16", "20")
SIZES_720P = ("720x1280", "1280x720")
SIZES_1024P = ("1024x1792", "1792x1024")
SIZES_1080P = ("1080x1920", "1920x1080")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    sizes: tuple[str, ...]
    seconds: tuple[str, ...]
    price_per_second: dict[str, float] = field(default_factory=dict[str, float])
    aliases: tuple[str, ...] = ()

    def price(self, size: str) -> float | None:
        return self.price_per_second.get(size)


_SORA_2 = ModelSpec(
    name="sora-2",
    sizes=SIZES_720P,
    seconds=ALL_SECONDS,
    price_per_second=dict.fromkeys(SIZES_720P, 0.10),
    aliases=("sora-2-2025-10-06", "sora-2-2025-12-08"),
)
_SORA_2_PRO = ModelSpec(
    name="sora-2-pro",
    sizes=SIZES_720P + SIZES_1024P + SIZES_1080P,
    seconds=ALL_SECONDS,
    price_per_second=dict.fromkeys(SIZES_720P, 0.30)
    | dict.fromkeys(SIZES_1024P, 0.50)
    | dict.fromkeys(SIZES_1080P, 0.70),
    aliases=("sora-2-pro-2025-10-06",),
)

KNOWN_MODELS: dict[str, ModelSpec] = {
    name: spec for spec in (_SORA_2, _SORA_2_PRO) for name in (spec.name, *spec.aliases)
}


def lookup(model: str) -> ModelSpec | None:
    """The rules for ``model``, or None when the table does not know it."""
    return KNOWN_MODELS.get(model)


def parse_size(size: str) -> tuple[int, int]:
    """``"720x1280"`` -> ``(720, 1280)``; raises InputError on anything else."""
    width, sep, height = size.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) <= 0 or int(height) <= 0:
        raise InputError(f"Size {size!r} is not WIDTHxHEIGHT.", hint="Use e.g. '720x1280' (portrait) or '1280x720'.")
    return int(width), int(height)


def check_request(model: str, size: str, seconds: str) -> None:
    """Refuse a size or duration a known model does not accept; unknown models pass."""
    parse_size(size)
    if not seconds.isdigit() or int(seconds) <= 0:
        raise InputError(f"Duration {seconds!r} is not a whole number of seconds.", hint="Use e.g. '4' or '8'.")
    spec = lookup(model)
    if spec is None:
        return
    if size not in spec.sizes:
        raise InputError(f"Model {model} does not make {size} videos.", hint=f"Choose one of: {', '.join(spec.sizes)}.")
    if seconds not in spec.seconds:
        raise InputError(
            f"Model {model} does not make {seconds}-second videos.",
            hint=f"Choose one of: {', '.join(spec.seconds)} seconds.",
        )


def estimate_cost(model: str | None, size: str | None, seconds: str | None) -> float | None:
    """Estimated price in USD, or None when the model, size or duration is unknown or has no known price."""
    spec = lookup(model) if model else None
    price = spec.price(size) if spec and size else None
    if price is None or seconds is None or not seconds.isdigit():
        return None
    return round(price * int(seconds), 2)


def describe_models() -> str:
    """The table in one line, for tool descriptions: each model's sizes, durations and prices."""
    parts = []
    for spec in (_SORA_2, _SORA_2_PRO):
        prices = sorted(set(spec.price_per_second.values()))
        price = f"${prices[0]:.2f}" if len(prices) == 1 else f"${prices[0]:.2f}-{prices[-1]:.2f}"
        parts.append(f"{spec.name}: {', '.join(spec.sizes)}; {', '.join(spec.seconds)} s; {price}/s")
    return ". ".join(parts) + "."
