"""Cassettes: readable, scrubbed recordings stamped with the spec's fingerprint; mismatch help."""

from vcr.errors import CannotOverwriteExistingCassetteException

from asst_deploy.replay.cassette.format import ReadableSerializer, preflight
from asst_deploy.replay.cassette.matching import (
    MATCH_ON,
    differences,
    explain,
    json_body,
    mismatch,
)
from asst_deploy.replay.cassette.recording import (
    CorruptCassette,
    make_vcr,
    network_blocked,
    path_for,
    stream_recorder,
    use,
)
from asst_deploy.replay.cassette.scrub import (
    REDACTED,
    REPLAY_BASE,
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    scrub_response,
    scrub_text,
)
from asst_deploy.replay.cassette.stamps import (
    METADATA_KEY,
    StaleCassette,
    check_fresh,
    check_grader,
    fingerprint,
    info,
    stamp,
)
from asst_deploy.replay.cassette.streams import STREAM_ENDS, check_streams, stream_problem

# the names the module had before it became a package, which tests still reach for
_differences = differences
_scrub_response = scrub_response
_scrub_text = scrub_text
_stream_problem = stream_problem

__all__ = [
    "MATCH_ON",
    "METADATA_KEY",
    "REDACTED",
    "REPLAY_BASE",
    "REQUEST_HEADERS",
    "RESPONSE_HEADERS",
    "STREAM_ENDS",
    "CannotOverwriteExistingCassetteException",
    "CorruptCassette",
    "ReadableSerializer",
    "StaleCassette",
    "check_fresh",
    "check_grader",
    "check_streams",
    "differences",
    "explain",
    "fingerprint",
    "info",
    "json_body",
    "make_vcr",
    "mismatch",
    "network_blocked",
    "path_for",
    "preflight",
    "scrub_response",
    "scrub_text",
    "stamp",
    "stream_problem",
    "stream_recorder",
    "use",
]
