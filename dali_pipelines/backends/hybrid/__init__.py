"""The hybrid executor: a DALI segment, Python stages in worker processes, a torch tail."""
