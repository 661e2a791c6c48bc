"""Development tooling: never packaged for SCF, and no shipped module imports it.

The local stack (STS and COS emulators, the local endpoint, the dry run and the
``python -m sts_tools`` commands) lives here so that a reader, and the package
build, see at a glance what runs in SCF: everything in ``sts_core/`` except
this folder and ``__main__.py``.
"""
