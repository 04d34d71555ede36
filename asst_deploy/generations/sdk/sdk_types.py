"""Load the openai SDK's `openai.types` packages one submodule at a time, on first use.

Every `__init__.py` under `openai/types` is nothing but re-exports (`from .x import X`),
and `import openai` runs them all: about 1100 modules and half a second, of which a
command that lists files and vector stores uses a few dozen. Here each such package is
created empty, with its real `__path__`, so importing one submodule runs only that
submodule; a name the package re-exports is imported from the submodule its `__init__.py`
names, the first time it is asked for. Anything else (a name the map does not know,
`__all__`, `dir()`) runs the real `__init__.py` into the module first, so the package
behaves as the SDK wrote it.

Installed by the CLI's entry point (`asst_deploy.cli.main`) before any command imports
openai, and only when openai is not imported yet (a process that imported it first keeps
the eager packages). A library import of asst-deploy (`asst_deploy.runtime`, the pytest
plugin) never changes the import machinery of the application that imports it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import importlib.abc

ROOT = "openai.types"
# also lazy: `openai.lib`, whose `__init__.py` re-exports the structured-output helpers (the
# chat completion types, 17 ms) that the client's own `openai.lib._client_auth` never uses
LAZY_ROOTS = (ROOT, "openai.lib")


class _Eager(Exception):
    """The `__init__.py` does more than re-export: run it as it is."""


def _reexports(init: Path, package: str) -> dict[str, tuple[str, str]]:
    """name -> (module, name in it; "" for the module itself) for each `from M import N
    [as A]` in `init`; _Eager when the file does anything else (then it runs as written)."""
    tree = ast.parse(init.read_bytes(), str(init))
    names: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if not isinstance(node, ast.ImportFrom) or any(a.name == "*" for a in node.names):
            raise _Eager
        source = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
        for alias in node.names:
            if node.module is None:  # `from . import x`: the submodule itself
                names[alias.asname or alias.name] = (f"{source}.{alias.name}", "")
            else:
                names[alias.asname or alias.name] = (source, alias.name)
    return names


class _LazyPackage:
    """Creates the package empty and fills it name by name (a loader as the import system
    reads one: not a subclass of importlib.abc's, whose import takes 8 ms)."""

    def __init__(self, real: importlib.machinery.ModuleSpec) -> None:
        self.real = real
        self.lock = threading.Lock()
        self.ran = False

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        assert self.real.origin is not None
        try:
            names = _reexports(Path(self.real.origin), module.__name__)
        except (_Eager, OSError, SyntaxError):
            self.run_init(module)
            return

        def __getattr__(name: str) -> Any:
            value: Any
            if name in names:
                source, attribute = names[name]
                value = importlib.import_module(source)
                if attribute:
                    value = getattr(value, attribute)
            elif not name.startswith("__") and importlib.machinery.PathFinder.find_spec(
                f"{module.__name__}.{name}", module.__path__
            ):
                value = importlib.import_module(f"{module.__name__}.{name}")
            elif name.startswith("__") and name != "__all__":
                raise AttributeError(name)
            else:  # not a name the map knows: the package as the SDK wrote it
                self.run_init(module)
                if name not in module.__dict__:
                    raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
                return module.__dict__[name]
            setattr(module, name, value)
            return value

        def __dir__() -> list[str]:
            self.run_init(module)
            return sorted(module.__dict__)

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        module.__dir__ = __dir__  # type: ignore[method-assign]

    def run_init(self, module: ModuleType) -> None:
        """Run the real `__init__.py` into `module`, once."""
        with self.lock:
            if self.ran:
                return
            self.ran = True
            module.__dict__.pop("__getattr__", None)
            module.__dict__.pop("__dir__", None)
            assert self.real.loader is not None
            self.real.loader.exec_module(module)


class _Finder:
    """Finds the packages under `openai.types` (and `openai.lib`) as the path finder does,
    and loads them lazily; plain modules are left to the path finder."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not any(fullname == root or fullname.startswith(root + ".") for root in LAZY_ROOTS):
            return None
        real = importlib.machinery.PathFinder.find_spec(fullname, path)
        if real is None or real.submodule_search_locations is None or real.origin is None:
            return None
        loader = cast("importlib.abc.Loader", _LazyPackage(real))  # a loader by its methods
        spec = importlib.machinery.ModuleSpec(fullname, loader, origin=real.origin, is_package=True)
        spec.submodule_search_locations = real.submodule_search_locations
        spec.has_location = True
        return spec


def install() -> None:
    """Put the finder first on `sys.meta_path`, once, unless openai is already imported."""
    if "openai" in sys.modules or any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder())
