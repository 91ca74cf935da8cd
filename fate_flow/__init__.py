"""FATE-Flow 1.4 compatible job scheduling service for federated learning.

Importing this package has no side effects: no files read, no database opened,
no logging configured and no thread started.
"""

__version__ = "1.4.5"
FATE_VERSION = "1.4.5"
API_VERSION = "v1"
