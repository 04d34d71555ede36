"""What every process of the suite shares: its own cache folder, and a fixed date.

The date: validate, plan and every load warn of a model that shuts down
within 60 days and refuse it from its date (asst_deploy/spec/shutdowns.py), so the suite's
specs (many on gpt-4o-mini, which shuts down on 2027-01-14) would start warning, then
failing, as the calendar moves. Every process the suite starts inherits the date; the tests
of shutdowns set their own."""

from __future__ import annotations

import os
import tempfile

from asst_deploy.spec.shutdowns import TODAY_VARIABLE

# before any announced shutdown's 60-day window: no spec of the suite is warned of
SUITE_DATE = "2026-10-01"
os.environ[TODAY_VARIABLE] = SUITE_DATE

# The user's cache folder (the spec cache's machine key, parsed cassettes): the suite's own,
# so no run reads what an earlier one left, and nothing is written to the home directory
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="asst-deploy-tests-cache-")
