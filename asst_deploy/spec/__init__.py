"""Spec loading: YAML files to an immutable, validated desired state."""
