"""The time a client shares with its in-process sandbox: waits skip ahead at once."""

from __future__ import annotations

import time

from asst_deploy.fastforward import FastForward


def test_a_wait_moves_both_clocks_on_at_once() -> None:
    clock = FastForward()
    wall, mono = clock.time(), clock.monotonic()
    started = time.monotonic()
    clock.sleep(30.0)
    clock.sleep(-5.0)  # a negative wait is no wait, as time.sleep refuses it
    assert time.monotonic() - started < 1.0
    assert 30.0 <= clock.time() - wall < 31.0
    assert 30.0 <= clock.monotonic() - mono < 31.0
    # and real time still flows under it
    before = clock.monotonic()
    time.sleep(0.01)
    assert clock.monotonic() - before >= 0.01
