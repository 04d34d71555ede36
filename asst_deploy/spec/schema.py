"""The JSON Schema of the spec format (draft 2020-12), for the loader and for editors."""

from __future__ import annotations

from typing import Any

from asst_deploy import limits, secretref
from asst_deploy.generations import API_GENERATIONS, DEFAULT_API, NAMES, agents

SCHEMA_ID = "https://asst-deploy.dev/schema/spec.json"
KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
# the name `asst-deploy test --envs` and `--parity` give the project file's own targets
# and defaults (no `environments:` entry)
RESERVED_ENVIRONMENT = "base"


def _range(bounds: tuple[float, float], kind: str = "number") -> dict[str, Any]:
    return {"type": kind, "minimum": bounds[0], "maximum": bounds[1]}


def closed_object(
    properties: dict[str, Any], required: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    """An object schema that allows only `properties` (unknown keys are errors)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def _tool_type(name: str) -> dict[str, Any]:
    """The `if` of one tool type; `type: object` so that a non-mapping matches no branch."""
    return {"type": "object", "properties": {"type": {"const": name}}}


_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_NULLABLE_STRING = {"type": ["string", "null"]}

# The tools of the Agents API (and of responses.create), flat as the SDK's persisted tool
# params write them (openai/types/beta/persisted_agent_tool_param.py); assistants refuse them.
_AGENT_TOOLS: dict[str, dict[str, Any]] = {
    "mcp": {
        "server_label": {"type": "string", "minLength": 1},
        "transport": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": ["http", "stdio"]}},
            "allOf": [
                {
                    "if": _tool_type("http"),
                    "then": closed_object(
                        {
                            "type": {"const": "http"},
                            "server_url": {"type": "string", "pattern": "^https?://"},
                            "headers": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                                "description": "Non-secret HTTP headers (a saved tool holds "
                                "no secret: use credential_id).",
                            },
                        },
                        ("type", "server_url"),
                    ),
                },
                {
                    "if": _tool_type("stdio"),
                    "then": closed_object(
                        {
                            "type": {"const": "stdio"},
                            "command": {"type": "string", "minLength": 1},
                            "cwd": {"type": "string", "minLength": 1},
                            "args": _STRINGS,
                            "env_vars": {
                                **_STRINGS,
                                "description": "Names of environment variables to inherit.",
                            },
                        },
                        ("type", "command", "cwd"),
                    ),
                },
            ],
        },
        "allowed_tools": {**_STRINGS, "description": "Default: every tool of the server."},
        "connection_origin": {"enum": ["service", "environment"]},
        "credential_id": {
            **_NULLABLE_STRING,
            "description": "A vault credential of the Agents API for this server.",
        },
        "credential": {
            "type": "string",
            "pattern": r"^[a-z0-9][a-z0-9_.-]{0,63}/[a-z0-9][a-z0-9_.-]{0,63}$",
            "description": "A credential of a vault of the project, as <vault key>/<name> "
            "(kind: vault): its credential_id at apply.",
        },
        "request_metadata": {"type": "object"},
        "required": {"type": "boolean", "description": "Must initialize before the first turn."},
    },
    "web_search": {
        "allowed_domains": _STRINGS,
        "context_size": {"enum": ["low", "medium", "high"]},
        "location": closed_object(
            {k: _NULLABLE_STRING for k in ("city", "country", "region", "timezone")}
        ),
        "mode": {"enum": ["disabled", "cached", "live"]},
    },
    "tool_search": {},
    "programmatic_tool_calling": {"enabled": {"type": "boolean"}},
    "computer_use": {"include_screenshots": {"type": "boolean"}},
    "automations": {},
}
_AGENT_TOOLS_REQUIRED = {"mcp": ("server_label", "transport")}
_TOOL_TYPES = ("code_interpreter", "file_search", "function", *_AGENT_TOOLS)

_FILE_REF = closed_object(
    {
        "file": {
            "type": "string",
            "minLength": 1,
            "description": "Path relative to the project directory.",
        }
    },
    ("file",),
)

_DEFS: dict[str, Any] = {
    "secret": secretref.SCHEMA,
    "key": {
        "type": "string",
        "pattern": KEY_PATTERN,
        "description": "Stable identity of the resource inside the project (lower case, digits, _ . -).",
    },
    "metadata": {
        "type": "object",
        "maxProperties": limits.METADATA_PAIRS_MAX,
        "propertyNames": {"maxLength": limits.METADATA_KEY_MAX},
        "additionalProperties": {"type": "string", "maxLength": limits.METADATA_VALUE_MAX},
    },
    "text_or_file": {
        "description": "Inline text, or {file: path} to read it from a file.",
        "oneOf": [{"type": "string"}, _FILE_REF],
    },
    "function": closed_object(
        {
            "name": {"type": "string", "pattern": limits.FUNCTION_NAME_PATTERN},
            "description": {"type": "string"},
            "parameters": {"type": "object", "description": "A JSON Schema (draft 2020-12)."},
            "strict": {"type": "boolean"},
            "defer_loading": {
                "type": "boolean",
                "description": "Agents and Responses APIs: found through tool_search.",
            },
            "async": {
                "type": "boolean",
                "description": "Agents and Responses APIs: the model goes on without the result.",
            },
        },
        ("name",),
    ),
    "tool": {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": sorted(_TOOL_TYPES)}},
        "allOf": [
            {
                "if": _tool_type("code_interpreter"),
                "then": closed_object({"type": {"const": "code_interpreter"}}),
            },
            {
                "if": _tool_type("file_search"),
                "then": closed_object(
                    {
                        "type": {"const": "file_search"},
                        "max_num_results": _range(limits.FILE_SEARCH_MAX_NUM_RESULTS, "integer"),
                        "ranking_options": closed_object(
                            {
                                "ranker": {"enum": ["auto", "default_2024_08_21"]},
                                "score_threshold": _range((0, 1)),
                            },
                            ("score_threshold",),
                        ),
                    }
                ),
            },
            {
                "if": _tool_type("function"),
                "then": {
                    **closed_object(
                        {
                            "type": {"const": "function"},
                            "function": {"$ref": "#/$defs/function"},
                            "file": {
                                "type": "string",
                                "minLength": 1,
                                "description": "A JSON file holding the function object.",
                            },
                            "strict": {
                                "type": "boolean",
                                "description": "With `file`: replaces the file's `strict` "
                                "(e.g. false in an environment override for the Agents API, "
                                "which has no strict mode).",
                            },
                        }
                    ),
                    "oneOf": [{"required": ["function"]}, {"required": ["file"]}],
                },
            },
            *(
                {
                    "if": _tool_type(name),
                    "then": closed_object(
                        {"type": {"const": name}, **fields}, _AGENT_TOOLS_REQUIRED.get(name, ())
                    ),
                }
                for name, fields in _AGENT_TOOLS.items()
            ),
        ],
    },
    "response_format": {
        "oneOf": [
            {"const": "auto"},
            closed_object({"type": {"enum": ["text", "json_object"]}}, ("type",)),
            closed_object(
                {
                    "type": {"const": "json_schema"},
                    "json_schema": closed_object(
                        {
                            "name": {"type": "string", "pattern": limits.FUNCTION_NAME_PATTERN},
                            "description": {"type": "string"},
                            "schema": {"type": "object"},
                            "strict": {"type": "boolean"},
                        },
                        ("name",),
                    ),
                },
                ("type", "json_schema"),
            ),
        ]
    },
}

ASSISTANT_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": limits.NAME_MAX},
    "description": {"type": "string", "maxLength": limits.DESCRIPTION_MAX},
    "model": {"type": "string", "minLength": 1},
    "instructions": {"$ref": "#/$defs/text_or_file"},
    "tools": {"type": "array", "maxItems": limits.TOOLS_MAX, "items": {"$ref": "#/$defs/tool"}},
    "tool_resources": closed_object(
        {
            "code_interpreter": closed_object(
                {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "description": "Paths or globs, relative to the project directory.",
                    }
                }
            ),
            "file_search": closed_object(
                {
                    "vector_stores": {
                        "type": "array",
                        "maxItems": limits.FILE_SEARCH_VECTOR_STORES_MAX,
                        "items": {"$ref": "#/$defs/key"},
                        "description": "Keys of vector stores of this project.",
                    }
                }
            ),
        }
    ),
    "metadata": {"$ref": "#/$defs/metadata"},
    "temperature": _range(limits.TEMPERATURE),
    "top_p": _range(limits.TOP_P),
    "response_format": {"$ref": "#/$defs/response_format"},
    "reasoning_effort": {"enum": list(limits.REASONING_EFFORTS)},
    "service_tier": {
        "enum": list(agents.SERVICE_TIERS),
        "description": "Agents and Responses APIs only.",
    },
    "multi_agent": closed_object(
        {
            "enabled": {"type": "boolean"},
            "max_concurrent_subagents": {"type": "integer", "minimum": 1},
        },
        ("enabled",),
        description="Agents API only: subagents (default: disabled; 6 at a time).",
    ),
    "compaction": closed_object(
        {"async": {"type": ["boolean", "null"], "description": "Compact in the background."}},
        description="Agents API only: context compaction (default: blocking).",
    ),
    "verbosity": {
        "enum": ["low", "medium", "high"],
        "description": "Agents and Responses APIs: text.verbosity (default: medium).",
    },
    "reasoning_summary": {
        "enum": ["concise", "detailed", "auto"],
        "description": "Agents and Responses APIs: reasoning.summary.",
    },
    "experimental": closed_object(
        {"time_awareness": {"type": "boolean", "description": "Tell the model the time."}},
        description="Agents API only: experimental agent settings.",
    ),
    "environment": {
        "$ref": "#/$defs/key",
        "description": "Agents API only: the key of a `kind: environment` document the agent "
        "runs in (instead of a template made from its code_interpreter files).",
    },
    "protect": {"type": "boolean", "description": "Refuse to delete or replace this resource."},
    "adopt": {"$ref": "#/$defs/adopt"},
}

_ADOPT_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"}
_DEFS["adopt"] = {
    "oneOf": [
        {**_ADOPT_ID, "description": "Adopted on whatever target the environment deploys to."},
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _ADOPT_ID,
            "description": "Target name -> the id on that target (`asst-deploy export` "
            "writes this form: an id is adopted only where it was read).",
        },
    ],
    "description": "Remote id of an existing, unmanaged object to bring under management.",
}

_DEFS.update(
    {
        "chunking_strategy": {
            "oneOf": [
                closed_object({"type": {"const": "auto"}}, ("type",)),
                closed_object(
                    {
                        "type": {"const": "static"},
                        "static": closed_object(
                            {
                                "max_chunk_size_tokens": _range(
                                    limits.CHUNK_SIZE_TOKENS, "integer"
                                ),
                                "chunk_overlap_tokens": {"type": "integer", "minimum": 0},
                            },
                            ("max_chunk_size_tokens", "chunk_overlap_tokens"),
                        ),
                    },
                    ("type", "static"),
                ),
            ]
        },
    }
)

VECTOR_STORE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": limits.NAME_MAX},
    "files": {
        "type": "array",
        "items": {
            "oneOf": [
                {"type": "string", "minLength": 1},
                closed_object(
                    {
                        "path": {"type": "string", "minLength": 1},
                        "attributes": {
                            "type": "object",
                            "maxProperties": limits.METADATA_PAIRS_MAX,
                            "additionalProperties": {"type": ["string", "number", "boolean"]},
                        },
                    },
                    ("path",),
                ),
            ]
        },
    },
    "chunking_strategy": {"$ref": "#/$defs/chunking_strategy"},
    "expires_after": closed_object(
        {
            "anchor": {"const": "last_active_at"},
            "days": _range(limits.EXPIRES_AFTER_DAYS, "integer"),
        },
        ("anchor", "days"),
    ),
    "metadata": {"$ref": "#/$defs/metadata"},
    "protect": {"type": "boolean", "description": "Refuse to delete or replace this resource."},
    "adopt": {"$ref": "#/$defs/adopt"},
}

_DEFS.update(
    {
        "vars": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "target": closed_object(
            {
                "type": {"enum": ["sandbox", "openai"]},
                "api": {
                    "enum": NAMES,
                    "default": DEFAULT_API,
                    "description": "The API generation deployed to: "
                    + "; ".join(f"{n}: {a.description}" for n, a in API_GENERATIONS.items())
                    + ". The sandbox serves all of them.",
                },
                "base_url": {
                    "type": "string",
                    "pattern": "^https?://",
                    "description": "type openai: the endpoint (default: api.openai.com, "
                    "which serves the agents and responses APIs only).",
                },
                "api_key_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "organization": {"type": "string"},
                "project": {"type": "string"},
                "timeout": {"type": "number", "exclusiveMinimum": 0},
                "max_retries": {"type": "integer", "minimum": 0, "maximum": 20},
                "db": {
                    "type": "string",
                    "description": "Sandbox state file, relative to the project.",
                },
                "db_outside_project": {
                    "type": "boolean",
                    "description": "Allow a db path outside the project (an exported "
                    "project sharing its source's sandbox state); off by default.",
                },
                "rules": {
                    "type": "string",
                    "description": "Sandbox only: a YAML file of scripted model rules, relative to the project.",
                },
                "models": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "uniqueItems": True,
                    "description": "Model names the target serves (default: the Assistants API's): the sandbox refuses others, validate warns of them.",
                },
            },
            ("type",),
        ),
        # by document kind: made by defs() for the sections the registry has (an entry
        # of the project file's `environments:`; $defs/environment is `kind: environment`)
        "overrides": {},
        "project_environment": {},
    }
)
_DEFS["defaults"] = closed_object(
    {
        k: v
        for k, v in ASSISTANT_FIELDS.items()
        if k in ("model", "temperature", "top_p", "reasoning_effort", "response_format", "metadata")
    },
    description="Field values every assistant gets unless it sets them itself.",
)

PROJECT_SCHEMA: dict[str, Any] = closed_object(
    {
        "project": {
            "$ref": "#/$defs/key",
            "description": "Project name: the ownership scope of every managed object.",
        },
        "include": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Globs of resource files.",
        },
        "targets": {"type": "object", "additionalProperties": {"$ref": "#/$defs/target"}},
        "default_target": {"type": "string"},
        "vars": {"$ref": "#/$defs/vars"},
        "defaults": {"$ref": "#/$defs/defaults"},
        "environments": {
            "type": "object",
            # `--envs base,...` and `--parity base ...` mean the project file's own targets
            # and defaults: an environment of that name could never be chosen there
            "propertyNames": {"not": {"const": RESERVED_ENVIRONMENT}},
            "additionalProperties": {"$ref": "#/$defs/project_environment"},
        },
        "replay": closed_object(
            {
                "allow_modules": {
                    "type": "array",
                    "items": {"type": "string", "pattern": r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*$"},
                    "description": "Modules outside the project whose functions conversation "
                    "scripts may call (predicate:, call:), with their submodules.",
                },
                "grader": closed_object(
                    {
                        "model": {
                            "type": "string",
                            "minLength": 1,
                            "description": "The model that grades `rubric:` expectations "
                            "(default: gpt-5.4-mini).",
                        },
                        "endpoint": {
                            "type": "string",
                            "description": "The target whose Responses API grades (default: "
                            "the conversation's own, when it is the sandbox or of api "
                            "responses).",
                        },
                        "embedding_model": {
                            "type": "string",
                            "minLength": 1,
                            "description": "The model that embeds texts for `similar:` "
                            "expectations (default: text-embedding-3-small).",
                        },
                    },
                    description="The grader of graded expectations (rubric:, similar:).",
                ),
                "prices": {
                    "type": "object",
                    "description": "USD per 1M tokens by model, over the built-in table: "
                    "{MODEL: {input, cached_input, output}}.",
                    "additionalProperties": closed_object(
                        {
                            "input": {"type": "number", "minimum": 0},
                            "cached_input": {"type": "number", "minimum": 0},
                            "output": {"type": "number", "minimum": 0},
                        },
                        ("input", "output"),
                    ),
                },
            },
            description="Conversation tests (asst-deploy test).",
        ),
    },
    ("project",),
)


def _overrides(sections: list[str]) -> dict[str, Any]:
    return closed_object(
        {
            section: {"type": "object", "additionalProperties": {"type": "object"}}
            for section in sections
        }
    )


def _environment(sections: list[str]) -> dict[str, Any]:
    return closed_object(
        {
            "target": {"type": "string"},
            "vars": {"$ref": "#/$defs/vars"},
            "defaults": {"$ref": "#/$defs/defaults"},
            "overrides": {"$ref": "#/$defs/overrides"},
            "exclude": closed_object(
                {
                    section: {
                        "type": "array",
                        "items": {"$ref": "#/$defs/key"},
                        "uniqueItems": True,
                    }
                    for section in sections
                },
                description="Keys of resources this environment does not deploy, e.g. "
                "an assistant its target's API cannot hold (validate --matrix says "
                "which): exclude: {assistants: [handbook]}.",
            ),
        }
    )


def defs(sections: list[str]) -> dict[str, Any]:
    """The shared definitions, with an environment's `overrides:` and `exclude:` taking
    the document kinds' `sections` (asst_deploy/spec/documents holds the registry)."""
    made = {"overrides": _overrides(sections), "project_environment": _environment(sections)}
    return {name: made.get(name, value) for name, value in _DEFS.items()}
