"""`python -m connectors.payer_sim`: the payer simulator's endpoint (same options as `edi payer-sim`)."""

import sys

from connectors.payer_sim.server import main

sys.exit(main())
