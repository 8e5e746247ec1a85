"""The scheduling framework: extension-point protocols, parsed pod/node types, the runtime.

Plugins depend on this package only (never on each other, never on the scheduler loop).
See :mod:`.interface` for the protocols and :mod:`.runtime` for the order they run in.
"""
