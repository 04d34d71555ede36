"""The responses generation's backend and conversation driver."""
