"""The one table of the real API's limits (validate, the sandbox, conversation scripts).

tests/test_limits_openapi.py checks each value the OpenAPI description states against
../shared/openai/openapi.yaml; the rest come from its prose and OpenAI's guides.
"""

NAME_MAX = 256
DESCRIPTION_MAX = 512
INSTRUCTIONS_MAX = 256_000
TOOLS_MAX = 128
FUNCTION_NAME_MAX = 64
FUNCTION_NAME_PATTERN = rf"^[a-zA-Z0-9_-]{{1,{FUNCTION_NAME_MAX}}}$"
METADATA_PAIRS_MAX = 16
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512
CODE_INTERPRETER_FILES_MAX = 20
FILE_SEARCH_VECTOR_STORES_MAX = 1
FILE_SEARCH_MAX_NUM_RESULTS = (1, 50)
TEMPERATURE = (0, 2)
TOP_P = (0, 1)
CHUNK_SIZE_TOKENS = (100, 4096)
EXPIRES_AFTER_DAYS = (1, 365)
FILE_SIZE_MAX = 512 * 1024 * 1024
# An agent's tools list as compact UTF-8 JSON (the service's resolved form): a saved agent
# holds 3 MiB of it (the sandbox's agent_objects.TOOLS_MAX_BYTES says the same)
AGENT_TOOLS_MAX_BYTES = 3 * 1024 * 1024
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
MAX_PROMPT_TOKENS_MIN = 256
# the OpenAPI file says 256, the service took 16 (../shared/openai/recordings/ruby-openai__runs_create.yaml)
MAX_COMPLETION_TOKENS_MIN = 1

# The file types each tool takes, from the "Supported files" tables of OpenAI's file_search
# and code_interpreter guides (an upload of another type fails when the tool indexes it).
FILE_SEARCH_EXTENSIONS = frozenset(
    {".c", ".cpp", ".cs", ".css", ".doc", ".docx", ".go", ".html", ".java", ".js", ".json"}
    | {".md", ".pdf", ".php", ".pptx", ".py", ".rb", ".sh", ".tex", ".ts", ".txt"}
)
CODE_INTERPRETER_EXTENSIONS = frozenset(
    {".c", ".cs", ".cpp", ".csv", ".doc", ".docx", ".html", ".java", ".json", ".md", ".pdf"}
    | {".php", ".pptx", ".py", ".rb", ".tex", ".txt", ".css", ".js", ".sh", ".ts", ".jpeg"}
    | {".jpg", ".gif", ".pkl", ".png", ".tar", ".xlsx", ".xml", ".zip"}
)

# asst-deploy's own: the largest cassette replay reads. Read whole into memory as YAML, a
# cassette takes about ten times its size there (a 300 MB one ran out at 3 GB); a long
# recorded conversation is a few MiB.
CASSETTE_MAX_BYTES = 64 * 1024 * 1024
