"""The REST API: requests in as JSON, transactions out (FastAPI). ``create_app`` builds the app."""

from connectors.api.app import DEFAULT_MAX_BODY_BYTES, create_app, hash_api_key

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app", "hash_api_key"]
