"""A conversation's data: scripts, stubs, transcripts and event streams, below the drivers
that run them (each generation's driver.py) and the harness that checks them (replay/)."""
