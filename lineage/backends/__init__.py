"""Storage backends behind the ``Backend`` protocol (see ``base``).

Each backend module exposes ``open_backend(config, migration_options)`` and is
imported only when a ConnectionConfig asks for it, so optional drivers stay
optional.
"""
