"""In-tree scheduler plugins, one folder each; wired only in :mod:`.registry`.

Plugins import :mod:`steersman.scheduler.framework` and never each other (an import-linter
independence contract checks it).
"""
