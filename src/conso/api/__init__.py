"""The HTTP API of api.md: thin routes that parse, authorize, call the engine, render."""
