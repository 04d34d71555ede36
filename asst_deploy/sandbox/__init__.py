"""A local Assistants v2 server that answers like the real service: target, test substrate, fault injector."""
