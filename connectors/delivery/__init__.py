"""Callback delivery: Standard Webhooks signing and sending, and a small verifying receiver.

``webhooks`` sends (the rules it applies live in ``edi.delivery``); ``receiver`` is the other
end, used by the tests and the README walkthrough. The receiver is imported on demand: it
needs FastAPI and uvicorn, which the sender does not.
"""

from connectors.delivery.webhooks import (
    AttemptHook,
    CachingResolver,
    DeadLetterSink,
    Resolver,
    StaticResolver,
    SystemResolver,
    WebhookSender,
    deliver,
    new_secret,
    replay,
    sign_headers,
)

__all__ = [
    "AttemptHook",
    "CachingResolver",
    "DeadLetterSink",
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "WebhookSender",
    "deliver",
    "new_secret",
    "replay",
    "sign_headers",
]
