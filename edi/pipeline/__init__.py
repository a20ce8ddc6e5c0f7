"""The pipeline's service layer: what each stage does to the store, with no network.

A stage handler here takes a transaction id (or an inbound document id), reads what it needs
from the store and the encrypted payload store, and commits the outcome -- the state move, the
payloads it made, the correlation keys it learnt and the messages for the next stage -- in one
database transaction. Adapters in ``connectors/`` (queue consumers, the API, the partner
transports) call these functions and do the I/O in between; they hold no pipeline logic.
"""

from edi.pipeline.context import Pipeline
from edi.pipeline.topics import STAGES, Stage

__all__ = ["STAGES", "Pipeline", "Stage"]
