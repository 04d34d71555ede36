"""What every resource kind provides: the engine's only view of what a kind is.

Each kind has one canonical form for both sides, so that apply followed by plan is always
empty. The form is logical: files appear as "path#sha", other objects by key, never by
remote id, so a form (and its hash, the stamp) does not change when an object is
re-created. Server defaults are filled in and server-owned fields dropped: the live
object says temperature 1 even when the spec leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from asst_deploy import identity
from asst_deploy.kinds.ports import Desired
from asst_deploy.plan import Create, FieldChange, NextRun, Replace, Update
from asst_deploy.state import RemoteFile, RemoteObject, RemoteState
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.backend import Backend, PageRetry
    from asst_deploy.desired import AssistantSpec, Project
    from asst_deploy.kinds.ports import ApplyOptions, Comparing, Exporting

Writing = Create | Update | Replace


class Writer(Protocol):
    """What apply offers a kind while it creates or updates one object."""

    backend: Backend

    @property
    def options(self) -> ApplyOptions: ...

    root: Path
    project: str

    def call(
        self,
        fn: Callable[[], Any],
        adopt: Callable[[], Any] | None = None,
        *,
        gone_ok: bool = False,
        landed: Callable[[], Any] | None = None,
    ) -> Any:
        """`fn` with retries; `landed` (a create: `adopt`) looks whether the write was done
        after all when the last attempt failed (see apply.retrying)."""
        ...

    def updated(self, kind: str, remote_id: str, after: Mapping[str, Json]) -> Callable[[], Any]:
        """A `landed` for an update of `remote_id` to `after`."""
        ...

    def store_files(
        self, store_id: str, check: Callable[[dict[str, Mapping[str, Json]]], bool]
    ) -> Callable[[], Any]:
        """A `landed` for a change of a store's files: `check` of them, by file id."""
        ...

    def find(self, kind: str, key: str, exclude: str | None = None) -> Any: ...

    def newest(self, kind: str, match: Callable[[Any], bool]) -> Any: ...

    def resolve(self, name: str) -> str: ...

    def learn(self, name: str, remote_id: str) -> None: ...

    def metadata(
        self, kind: str, key: str, after: Mapping[str, Json], remote_id: str | None = None
    ) -> dict[str, Json]:
        """User metadata plus identity tags, with the proof of authorship for `remote_id`
        (None: an object about to be created)."""
        ...

    def proof(self, kind: str, key: str) -> str:
        """The proof of authorship an object carries before it exists (a file for good)."""
        ...

    def prove(self, kind: str, key: str, made: Any) -> None:
        """Write the final proof on the object `made` by a create."""
        ...

    def attached(self, store_id: str) -> dict[str, str]:
        """Logical name -> id of the files attached to a store when the plan was read."""
        ...

    def file_name(self, file_id: str) -> str:
        """A file's project path, for messages (its id when it is not one of ours)."""
        ...

    def page_retry(self) -> PageRetry: ...

    def status(self, line: str) -> None: ...

    def fail(self, message: str) -> None:
        """A problem that fails the run once this phase ends (the rest of it still runs)."""
        ...


class Kind:
    """A resource kind. Subclasses live one per module in this package; the defaults here
    fit a kind whose identity rides in its metadata (assistants, agents, vector stores)."""

    name: ClassVar[str]
    # `asst-deploy import` can adopt one (a file's identity is its content: upload it)
    importable: ClassVar[bool] = True
    # `asst-deploy export` writes a spec of each (unless exported_as names another's), of
    # this spec kind (an agent exports as an assistant spec)
    exports: ClassVar[bool] = False
    spec_kind: ClassVar[str] = ""
    # what apply reports of a create: in --json, and before the new id in its progress line
    made: ClassVar[str] = "created"
    made_line: ClassVar[str] = "created"
    # how many spec keys its key is made of ("crm/crm-mcp": a vault's, then its own name)
    key_parts: ClassVar[int] = 1
    # Fields the API cannot change in place: changing them means delete and re-create.
    replace_on: ClassVar[tuple[str, ...]] = ()

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    # ---- the specs' side -------------------------------------------------------------

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        """What the project wants of this kind, canonical."""
        raise NotImplementedError

    def keys(self, project: Project) -> dict[str, bool]:
        """Spec key -> protect, of what the project declares of this kind."""
        return {}

    # ---- the remote side -------------------------------------------------------------

    def canonical(self, obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
        """The canonical form of a live object (`names`: remote id -> logical name)."""
        raise NotImplementedError

    def tags(self, data: Mapping[str, Json]) -> Mapping[str, Json] | None:
        """Where the identity tags of a live object are (see identity.py)."""
        metadata = data.get("metadata")
        return metadata if isinstance(metadata, Mapping) else None

    def tag_payload(self, tags: Mapping[str, Json]) -> dict[str, Json]:
        """The update that writes `tags` (identity plus user metadata) onto an object."""
        return {"metadata": dict(tags)}

    def references(self, obj: RemoteObject | RemoteFile) -> set[str]:
        """The remote ids this live object points at."""
        return set()

    def unmanageable(self, obj: RemoteObject) -> str | None:
        """Why no project may ever manage this live object (an automation an agent made
        itself): it is never adopted or imported. None: it may be managed."""
        return None

    def metadata_of(self, after: Mapping[str, Json]) -> dict[str, Json]:
        """The metadata an object of canonical form `after` carries besides its identity
        tags: the user's, and whatever else the kind keeps there (a credential: its secrets'
        digests). Every write of the tags (create, update, refresh) writes it."""
        return dict(after.get("metadata") or {})

    def written_metadata(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        """All the metadata a write of `after` puts on the object: the user's, the identity
        tags, and the links the kind keeps there; a refresh-only apply writes it too."""
        return run.metadata(self.name, key, after, remote_id)

    def ref_name(self, key: str) -> str | None:
        """The logical name other objects' canonical forms use for this one, or None when
        nothing points at objects of this kind."""
        return None

    def fingerprint(self, obj: Any, names: Mapping[str, str]) -> tuple[str | None, Json]:
        """(the hash a saved plan checks, the canonical form shown as `before`)."""
        before = with_protect(self.canonical(obj, names), obj.protected)
        return identity.canonical_hash(before), before

    # ---- the plan --------------------------------------------------------------------

    def replace_fields(
        self, changes: Iterable[FieldChange], before: Mapping[str, Json]
    ) -> list[str]:
        """The changed fields that force a delete and re-create."""
        return [c.field for c in changes if c.field in self.replace_on]

    def repoint(
        self,
        obj: RemoteObject,
        after: Mapping[str, Json],
        changes: tuple[FieldChange, ...],
        going: Callable[[], set[str]],
        names: Mapping[str, str],
    ) -> tuple[FieldChange, ...]:
        """Changes that follow from objects this plan deletes (`going()`: their ids), which
        `obj` points at by id though its logical form does not change. Most kinds point at
        nothing that goes, and never ask."""
        return changes

    def compare(self, comparer: Comparing, wanted: list[Desired], held: set[str]) -> None:
        """Add the actions that make this kind's live objects what `wanted` says."""
        comparer.objects(self.name, wanted, comparer.remote.of(self.name))

    def duplicate_stamp(
        self, obj: Any, names: Mapping[str, str], wanted: Json
    ) -> tuple[str | None, Json, bool]:
        """(fingerprint, canonical form, whether its stamp says this project applied it) of
        one copy too many: the stamp is the hash of what it is now, or of the specs' form (a
        create interrupted before its files were attached)."""
        fingerprint, before = self.fingerprint(obj, names)
        ours = (
            obj.owner.stamp in {fingerprint, identity.canonical_hash(wanted)} and not obj.protected
        )
        return fingerprint, before, ours

    def holds(self, obj: Any, after: Mapping[str, Json], names: Mapping[str, str]) -> bool:
        """Whether the live `obj` is what an update to `after` makes it (stamp included):
        how a write whose answer was lost is found done."""
        before = with_protect(self.canonical(obj, names), obj.protected)
        return before == after and obj.owner.stamp == identity.canonical_hash(after)

    def summary(self, after: Mapping[str, Json]) -> str | None:
        """One line for a create in the rendered plan instead of every field, or None."""
        return None

    def next_runs(self, project: Project, now: float) -> list[NextRun]:
        """When the objects of this kind the specs want run next (an automation's schedule),
        `now` being the time in Unix seconds: `asst-deploy plan` shows them with the plan."""
        return []

    def export(self, ex: Exporting, obj: RemoteObject) -> None:
        """Write the spec this live object deploys from (export.py has the helpers)."""
        raise NotImplementedError

    def exported_as(self, obj: RemoteObject, state: RemoteState) -> str | None:
        """The id of the object whose spec holds this one: itself for a kind with specs
        of its own, another (a credential: its vault), or None: never exported."""
        return obj.id if self.exports else None

    def spec_key(self, key: str) -> str:
        """The spec key of an object this project knows as `key` (its identity tag)."""
        return key

    def export_name(self, obj: RemoteObject, key: str, own: bool) -> str | None:
        """The logical name other exported objects' forms give this one, exported in the
        spec of key `key` (its own spec's when `own`, else the one exported_as names)."""
        return self.ref_name(key)

    def export_part(self, ex: Exporting, obj: RemoteObject, key: str) -> dict[str, Json]:
        """The entry of this object in the spec of key `key` that holds it (exported_as)."""
        raise NotImplementedError

    # ---- import ----------------------------------------------------------------------

    def import_problem(
        self, obj: RemoteObject, key: str, state: RemoteState, project: str
    ) -> str | None:
        """Why `obj` cannot be imported into `project` as `key`, beyond what every kind
        checks (see engine/importing.py); None: it can."""
        return None

    def import_tags(
        self,
        obj: RemoteObject,
        key: str,
        project: Project,
        names: Mapping[str, str],
        content: Callable[[], bytes],
    ) -> tuple[dict[str, Json], dict[str, Json]]:
        """(what an import writes besides the identity tags, the canonical form the object
        has once they are written); `content` downloads what it holds beyond its JSON."""
        return identity.user_metadata(dict(obj.data.get("metadata") or {})), self.canonical(
            obj, names
        )

    # ---- apply -----------------------------------------------------------------------

    def write(self, run: Writer, action: Writing) -> str:
        """Create or update the object; returns its remote id."""
        if isinstance(action, Update):
            remote_id = str(action.remote_id)
            payload = self.payload(run, action.key, action.after, remote_id)
            run.call(
                lambda: run.backend.update(self.name, remote_id, payload),
                landed=run.updated(self.name, remote_id, action.after),
            )
            return remote_id
        payload = self.payload(run, action.key, action.after, None)
        made = run.call(
            lambda: run.backend.create(self.name, payload),
            lambda: run.find(self.name, action.key, action.remote_id),
        )
        run.prove(self.name, action.key, made)
        return str(made.id)

    def payload(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        """What creates (`remote_id` None) or updates the object."""
        raise NotImplementedError


class OneForEachAssistant(Kind):
    """A kind of which every assistant spec deploys one (an assistant, an agent)."""

    def form(self, spec: AssistantSpec, shas: Mapping[str, str]) -> dict[str, Json]:
        """The canonical form the spec wants."""
        raise NotImplementedError

    def live_form(self, data: Mapping[str, Json], names: Mapping[str, str]) -> dict[str, Json]:
        """The canonical form of the live object's JSON."""
        raise NotImplementedError

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        return [
            Desired(
                self.name, a.key, with_protect(self.form(a, shas), a.protect), a.protect, a.adopt
            )
            for a in project.assistants
        ]

    def keys(self, project: Project) -> dict[str, bool]:
        return {a.key: a.protect for a in project.assistants}

    def canonical(self, obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
        return self.live_form(obj.data, names)


def with_protect(form: dict[str, Json], protect: bool) -> dict[str, Json]:
    """`protect: true` is part of the form (so lifting it is a change), absent when false
    (so protecting nothing leaves the hash of a form as it is)."""
    return {**form, "protect": True} if protect else form


def blank(value: Any) -> Any:
    return None if value in ("", None) else value


def file_ref(path: str, sha: str) -> str:
    return f"{path}#{sha}"
