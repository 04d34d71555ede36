"""Stopping the in-process server: prompt, with or without a client still connected."""

from __future__ import annotations

import socket
import time

import openai

from asst_deploy.sandbox.server import start_server

# uvicorn's own stop waits a fixed 0.1 s after its next 0.1 s tick; the best of three
# stops stays well under that floor unless something waits a fixed time again.
FIXED_WAIT = 0.1


def _stop_time(keep_client_open: bool) -> float:
    server = start_server()
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-x", max_retries=0)
    client.files.list()  # a keep-alive connection is open now
    if not keep_client_open:
        client.close()
    start = time.perf_counter()
    server.stop()
    elapsed = time.perf_counter() - start
    client.close()
    with socket.socket() as probe:
        assert probe.connect_ex((server.host, server.port)) != 0  # no longer listening
    return elapsed


def test_stop_waits_for_no_tick_with_a_connection_open() -> None:
    assert min(_stop_time(keep_client_open=True) for _ in range(3)) < FIXED_WAIT * 0.9


def test_stop_waits_for_no_tick_after_the_client_closed() -> None:
    assert min(_stop_time(keep_client_open=False) for _ in range(3)) < FIXED_WAIT * 0.9
