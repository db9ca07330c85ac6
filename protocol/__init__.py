"""The wire contract between editors and the Switchboard server.

Pydantic v2 models of every custom method's params and results, of the
normalized chat types every provider translates to and from, and of the
error data. JSON on the wire is camelCase. This package imports nothing
from the rest of Switchboard.
"""
