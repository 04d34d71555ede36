"""What every generation's adapters share over the openai SDK: the SDK client, the backend
base and its wire calls, the driver protocol, untyped event reading. With each
generation's own backend.py and driver.py, the only modules that import the SDK."""
