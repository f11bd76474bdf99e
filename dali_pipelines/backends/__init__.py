"""Backends that execute a plan: ``dali`` (the product) and ``reference`` (torchvision oracle)."""
