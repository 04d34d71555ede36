"""`${var}` interpolation: substitution, the `$${` escape, and where errors point."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from pathlib import Path

from asst_deploy.spec.interpolate import resolve, substitute, walk
from asst_deploy.spec.loader import load_project

VARS = {"company": "Example Corp", "suffix": " (dev)"}


def run(text: str) -> tuple[str, list[tuple[str, int]]]:
    errors: list[tuple[str, int]] = []
    result = substitute(text, VARS, lambda message, hint, offset: errors.append((message, offset)))
    return result, errors


def test_variables_are_replaced_and_spaces_inside_braces_ignored() -> None:
    assert run("${company}${suffix}") == ("Example Corp (dev)", [])
    assert run("at ${ company }") == ("at Example Corp", [])
    assert run("no variables, $5 and {braces}") == ("no variables, $5 and {braces}", [])


def test_double_dollar_writes_a_literal_reference() -> None:
    assert run("$${company} costs $${undefined}") == ("${company} costs ${undefined}", [])
    assert run("$${company}=${company}") == ("${company}=Example Corp", [])


def test_undefined_and_malformed_references_are_reported_with_their_offset() -> None:
    text, errors = run("Hi ${compnay}, ${two words}")
    assert text == "Hi ${compnay}, ${two words}"
    assert errors == [
        ("undefined variable 'compnay' (defined: company, suffix)", 3),
        ("invalid variable reference '${two words}'", 15),
    ]


def test_walk_rewrites_strings_at_any_depth_and_leaves_keys_alone() -> None:
    data = {"${k}": ["${v}", {"n": 1, "s": "${v}"}]}
    seen: list[tuple[object, ...]] = []

    def fn(text: str, path: tuple[object, ...]) -> str:
        seen.append(path)
        return text.replace("${v}", "V")

    assert walk(data, (), fn) == {"${k}": ["V", {"n": 1, "s": "V"}]}
    assert seen == [("${k}", 0), ("${k}", 1, "s")]


def test_the_loader_interpolates_specs_and_instruction_files_per_environment(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": """
                project: demo
                defaults: {model: gpt-4o-mini}
                vars: {company: Example Corp, suffix: ""}
                environments:
                  dev:
                    vars: {suffix: " (dev)"}
            """,
            "assistants/a.yaml": """
                kind: assistant
                key: a
                name: Helper${suffix}
                description: Costs $${price} at ${company} (${project}/${env})
                instructions: {file: prompts/a.md}
            """,
            "prompts/a.md": "Work for ${company}${suffix}; keep $${this} as is.\n",
        }
    )
    (base,) = load_project(root).assistants
    (dev,) = load_project(root, "dev").assistants
    assert (base.name, dev.name) == ("Helper", "Helper (dev)")
    assert base.description == "Costs ${price} at Example Corp (demo/)"
    assert dev.description == "Costs ${price} at Example Corp (demo/dev)"
    assert dev.instructions == "Work for Example Corp (dev); keep ${this} as is.\n"


def resolved(variables: dict[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    result = resolve(variables, lambda name, message, hint: errors.append((name, message)))
    return result, errors


def test_variables_may_use_other_variables_in_any_order() -> None:
    assert resolved({"greeting": "Hi from ${team}", "team": "${company} support", **VARS}) == (
        {
            "greeting": "Hi from Example Corp support",
            "team": "Example Corp support",
            **VARS,
        },
        [],
    )
    # an escaped reference stays literal, and is not expanded again where it is used
    values, errors = resolved({"a": "$${b}", "b": "B"})
    assert (values["a"], errors) == ("${b}", [])
    assert run_with(values, "x ${a}") == "x ${b}"


def test_a_cycle_of_variables_is_reported_once_by_name() -> None:
    values, errors = resolved({"a": "${b}!", "b": "${c}", "c": "${a}", "d": "${d}", "e": "ok"})
    assert errors == [
        ("a", "variable 'a' refers to itself: a -> b -> c -> a"),
        ("d", "variable 'd' refers to itself: d -> d"),
    ]
    assert values["e"] == "ok"


def test_a_long_chain_of_variables_needs_no_recursion() -> None:
    chain = {f"v{i}": f"${{v{i + 1}}}" for i in range(5000)} | {"v5000": "end"}
    values, errors = resolved(chain)
    assert (values["v0"], errors) == ("end", [])


def test_exponential_growth_is_refused() -> None:
    doubling = {f"v{i}": f"${{v{i + 1}}}${{v{i + 1}}}" for i in range(40)} | {"v40": "x"}
    values, errors = resolved(doubling)
    assert errors and "grows to more than 1000000 characters" in errors[0][1]
    assert all(len(v) <= 1_000_000 for v in values.values())


def run_with(variables: dict[str, str], text: str) -> str:
    return substitute(text, variables, lambda message, hint, offset: None)


def test_a_variable_made_of_variables_deploys_its_expansion(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": """
                project: demo
                vars: {company: Acme, team: "${company} support"}
                defaults: {model: gpt-4o-mini}
                environments:
                  dev: {vars: {team: "${company} support (dev)"}}
            """,
            "assistants/a.yaml": "kind: assistant\nkey: a\nname: ${team}\n",
        }
    )
    assert load_project(root).assistants[0].name == "Acme support"
    assert load_project(root, "dev").assistants[0].name == "Acme support (dev)"


def test_walk_keeps_nothing_alive_once_it_returns() -> None:
    # the CLI pauses the garbage collector: a reference cycle left by walk (a closure calling
    # itself) would keep every document it interpolated in memory until the command ends
    class Upper:
        def __call__(self, text: str, path: tuple[object, ...]) -> str:
            return text.upper()

    fn = Upper()
    ref = weakref.ref(fn)
    collecting = gc.isenabled()
    gc.disable()
    try:
        assert walk({"a": ["${x}", {"b": "${y}"}]}, (), fn) == {"a": ["${X}", {"b": "${Y}"}]}
        del fn
        assert ref() is None
    finally:
        if collecting:
            gc.enable()
