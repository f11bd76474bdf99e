"""Planning: fold the ops' shape rules over a spec and reject impossible chains before running."""

from __future__ import annotations

from .planner import Plan, Step, make_plan, output_state

__all__ = ["Plan", "Step", "make_plan", "output_state"]
