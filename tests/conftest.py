"""The whole suite's fixed date: validate, plan and every load warn of a model that shuts down
within 60 days and refuse it from its date (asst_deploy/spec/shutdowns.py), so the suite's
specs (many on gpt-4o-mini, which shuts down on 2027-01-14) would start warning, then
failing, as the calendar moves. Every process the suite starts inherits the date; the tests
of shutdowns set their own."""

from __future__ import annotations

import os

from asst_deploy.spec.shutdowns import TODAY_VARIABLE

# before any announced shutdown's 60-day window: no spec of the suite is warned of
SUITE_DATE = "2026-10-01"
os.environ[TODAY_VARIABLE] = SUITE_DATE
