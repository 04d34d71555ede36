"""Type aliases shared across the package."""

from typing import Any

# a value as JSON carries it (dict, list, str, number, bool, None); Any, since mypy cannot
# follow a recursive union through the SDK's and yaml's untyped returns
Json = Any
