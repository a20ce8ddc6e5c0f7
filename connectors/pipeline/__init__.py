"""The running pipeline: stage workers on the queues, the partner transports, the sweeper."""
