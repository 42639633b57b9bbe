"""HTTP routes, one module per area: health, ask (ask + search), chat (OpenAI-compatible), documents, web."""
