"""The server's prompt: help the user write a strong video prompt."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from mcp.server.mcpserver import MCPServer
from pydantic import Field

__all__ = ["PROMPT_CHOICES", "register_prompts"]

Orientation = Literal["portrait", "landscape"]
PromptSeconds = Literal["4", "8", "12", "16", "20"]
# Prompt arguments carry no schema: completion is how a host learns the choices.
PROMPT_CHOICES: dict[str, tuple[str, ...]] = {
    "orientation": get_args(Orientation),
    "duration_seconds": get_args(PromptSeconds),
}


def register_prompts(mcp: MCPServer[Any], default_model: str) -> None:
    @mcp.prompt(title="Write a video prompt")
    def write_video_prompt(
        idea: Annotated[str, Field(description="The video you have in mind, in a few words.")],
        orientation: Annotated[
            Orientation, Field(description="portrait (phones) or landscape (screens).")
        ] = "portrait",
        duration_seconds: Annotated[PromptSeconds, Field(description="Length of the clip in seconds.")] = "4",
    ) -> str:
        """Turn a rough idea into a strong prompt for generate_video, and pick a size and duration."""
        size = "720x1280" if orientation == "portrait" else "1280x720"
        return f"""Help me write a prompt for a {duration_seconds}-second {orientation} video ({size}) about:
{idea}

Write one paragraph of 60-120 words that a video model can follow, covering in order:
1. Subject: who or what is on screen, with concrete visual details (age, clothing, materials, colours).
2. Action: one clear thing that happens in {duration_seconds} seconds (short clips need simple, single beats).
3. Setting: place, time of day, weather, era.
4. Camera: shot size and movement (e.g. "slow dolly-in, eye level, 35mm lens"); keep it to one move.
5. Lighting and mood: light source and quality (e.g. "soft golden-hour backlight"), colour palette, tone.
6. Style: photoreal, animation, film stock, etc. Sound is generated too: mention ambience or music if it matters.

Avoid real people, public figures, copyrighted characters and music: they are refused by the content policy.
Then call generate_video with that prompt, size="{size}", seconds={duration_seconds} and model "{default_model}"
(use sora-2-pro for 1080p or finer detail), and follow it with wait_for_video and download_video."""
