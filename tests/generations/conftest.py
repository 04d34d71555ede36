"""The API generations' own tests (asst_deploy/generations/): the registry, and a fourth
generation registered from a test module; they run on the engine tests' sandbox."""

from tests.engine.conftest import backend, client, server  # noqa: F401 (fixtures)
