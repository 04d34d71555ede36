"""The remote side: state read from a target, and the adapters that talk to it."""

from asst_deploy.remote import sdk_types

sdk_types.install()  # before any adapter imports openai
