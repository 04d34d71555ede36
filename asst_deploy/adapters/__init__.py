"""The adapters over the openai SDK: the only package that imports it. A folder per API
generation (its backend and conversation driver) and the parts they share."""
