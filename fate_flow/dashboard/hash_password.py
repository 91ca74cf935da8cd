"""Print a password hash for ``fateboard.users`` in service_conf: ``python -m fate_flow.dashboard.hash_password``."""
from __future__ import annotations

import getpass
import sys

from werkzeug.security import generate_password_hash


def main() -> int:
    """Ask for a password twice and print its werkzeug hash (salted scrypt)."""
    password = getpass.getpass("password: ")
    if password != getpass.getpass("again: "):
        print("the passwords differ", file=sys.stderr)
        return 1
    print(generate_password_hash(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
