"""The planning options of `plan` and `apply`, checked once in the engine's facade."""

from __future__ import annotations

import pytest

from asst_deploy.engine.operations import Planning
from asst_deploy.errors import OptionConflict
from asst_deploy.types import Mode


def test_plain_options_plan_normally() -> None:
    planning = Planning.of(prune=True, only=["faq"], replace=["faq"])
    assert planning == Planning(Mode.NORMAL, True, ("faq",), ("faq",))
    assert planning.options() == ["--prune", "--resource", "--replace"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"destroy": True, "prune": True}, "--destroy cannot be combined with --prune"),
        (
            {"refresh_only": True, "only": ["a"], "replace": ["a"]},
            "--refresh-only cannot be combined with --resource, --replace",
        ),
        (
            {"destroy": True, "refresh_only": True},
            "--destroy cannot be combined with --refresh-only",
        ),
    ],
)
def test_a_mode_takes_no_other_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(OptionConflict, match=message):
        Planning.of(**options)  # type: ignore[arg-type]


def test_the_modes_alone() -> None:
    assert Planning.of(destroy=True).mode is Mode.DESTROY
    refresh = Planning.of(refresh_only=True)
    assert refresh.mode is Mode.REFRESH_ONLY
    assert refresh.options() == ["--refresh-only"]  # a saved plan's apply refuses it by name
