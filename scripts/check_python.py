"""The development tools' Python floor, checked before .venv is created.

Kept to syntax every Python 3 reads, so an old interpreter gets this message
instead of a failure deep inside pip. The floor is the test tools' (hypothesis
6.169 and later need 3.11, pytest 9 needs 3.10); the shipped function itself
runs on SCF's Python 3.9 and 3.10 (make package builds and tests it for both)."""

import sys

FLOOR = (3, 11)

if sys.version_info[:2] < FLOOR:
    found = "{}.{}".format(*sys.version_info[:2])
    sys.stderr.write(
        "error: the development tools need Python {}.{} or newer; {} is {}.\n".format(  # noqa: UP032 - Python 2 must read this file
            FLOOR[0], FLOOR[1], sys.executable, found
        )
        + "       The function itself runs on SCF's Python 3.9 and 3.10 (make package builds"
        " for both).\n"
        "       Use a newer interpreter, e.g.: make test PYTHON=python3.11\n"
    )
    sys.exit(1)
