"""The connection manager service: owns the gateway, mirrors exchange truth, publishes it on the
bus, executes order commands, serves the HTTP API on port 7500."""
