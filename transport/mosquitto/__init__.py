"""A locked-down Mosquitto for one or more runs: per-agent logins, an ACL, a managed process.

- :class:`MosquittoSetup` and :class:`BrokerRights`: who may log in and what each may
  read and write (the setup values and the rights).
- :class:`MosquittoFiles`: the config, password file, ACL and credentials it writes
  (with TLS, a throw-away CA and a server certificate too).
- :class:`ManagedMosquitto`: ``mosquitto`` run as a child process over those files.
"""

from ._files import MosquittoFiles
from ._process import ManagedMosquitto
from ._setup import BrokerRights, MosquittoSetup

__all__ = ["BrokerRights", "ManagedMosquitto", "MosquittoFiles", "MosquittoSetup"]
