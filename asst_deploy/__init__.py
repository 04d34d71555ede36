"""asst-deploy: assistant-as-code for OpenAI assistants, vector stores and files."""

__version__ = "0.1.0"
