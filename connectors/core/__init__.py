"""CAQH CORE Connectivity rule vC2.2.0 real-time SOAP: envelope, client and server.

`connectors.core.envelope` builds and reads the SOAP 1.2 envelope (pure, no I/O);
`connectors.core.client` sends a 270 to a trading partner's CORE endpoint within the 20-second
budget, with retries and a circuit breaker per partner; `connectors.core.server` is the ASGI
endpoint a payer (or the payer simulator) uses to answer such requests.
"""
