"""HTTP API and web chat page for qa_engine: `create_app(settings)` and `serve(settings)`."""

from qa_engine.api.app import create_app, serve

__all__ = ["create_app", "serve"]
