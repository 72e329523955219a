#!/usr/bin/env sh
# Claude Code: paste one of these lines (options go before the name; `--` separates the command).

# with a real key (any server that speaks /v1/videos: set OPENAI_BASE_URL too)
claude mcp add sora --env OPENAI_API_KEY=sk-your-key -- uvx sora-mcp serve

# with the local emulator (no key, no cost)
claude mcp add sora-emulator -- uvx sora-mcp serve --backend emulator
