"""How managed objects carry their identity remotely: reserved metadata keys."""

# Stored in the metadata of every assistant and vector store the tool manages. They
# count against the API's 16 metadata pairs, so user metadata may hold at most 13.
PROJECT_KEY = "asst_deploy.project"
SPEC_KEY = "asst_deploy.key"
HASH_KEY = "asst_deploy.hash"
RESERVED_METADATA_KEYS = (PROJECT_KEY, SPEC_KEY, HASH_KEY)
