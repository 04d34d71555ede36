"""A conversation's data: scripts, stubs, transcripts and event streams, below the drivers
that run them (asst_deploy/adapters/drivers) and the harness that checks them (replay/)."""
