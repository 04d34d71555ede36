"""The remote side: state read from a target, and the adapters that talk to it."""
