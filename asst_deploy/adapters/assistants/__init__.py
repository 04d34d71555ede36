"""The assistants generation's backend and conversation driver."""
