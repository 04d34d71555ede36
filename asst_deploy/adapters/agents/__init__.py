"""The agents generation's backend and conversation driver."""
