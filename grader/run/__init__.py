"""The run layer: the only code that starts processes (admission policy, sandbox, worker, protocol)."""
