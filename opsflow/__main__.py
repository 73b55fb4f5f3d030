"""``python -m opsflow``: the same as the ``opsflow`` command."""

from .cli import main

if __name__ == "__main__":
    main()
