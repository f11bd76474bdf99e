"""The ``dali-pipelines`` command line. Nothing in the package imports it; it sits on top.

Each subcommand is a module here with ``register(subparsers)``; :mod:`.main` lists the modules.
"""
