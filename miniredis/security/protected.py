"""Protected mode, protected commands and what a client must do before it may talk.

Redis 7.0's rules, in one place:

* **Protected mode** (``protected-mode yes``, the default): while the default user has
  no password, a TCP connection from anywhere but the loopback addresses (exactly
  ``127.0.0.1`` or ``::1``, as Redis compares them) is told ``-DENIED ...`` and closed;
  the unix socket and loopback are served. Decided once, when the connection is
  accepted (:func:`refuse_connection`).
* **Protected commands**: DEBUG runs only where ``enable-debug-command`` allows it,
  MODULE LOAD, LOADEX and UNLOAD where ``enable-module-command`` does (``yes``;
  ``local``: loopback or unix socket), checked before authentication and MULTI
  queueing, as in Redis (:func:`command_refusal`).
* **Authentication required**: while a client must still authenticate, the parser
  holds it to small requests (see ``Client._parse_unauthenticated``):
  :func:`auth_required` says when.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from .. import errors

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState

__all__ = ["default_user_has_password", "auth_required", "is_loopback", "is_local",
           "refuse_connection", "command_refusal", "PROTECTED_COMMANDS",
           "UNAUTH_MAX_ARGS", "UNAUTH_MAX_BULK"]

# What an unauthenticated client may announce (processMultibulkBuffer in Redis).
UNAUTH_MAX_ARGS = 10
UNAUTH_MAX_BULK = 16384

# Commands (full names) that run only where a yes/no/local option lets the client in
# (CMD_PROTECTED), and the refusal each option gives.
PROTECTED_COMMANDS: Dict[str, str] = {
    "debug": "enable-debug-command", "module|load": "enable-module-command",
    "module|loadex": "enable-module-command", "module|unload": "enable-module-command"}
_REFUSALS = {"enable-debug-command": errors.DEBUG_NOT_ALLOWED,
             "enable-module-command": errors.MODULE_NOT_ALLOWED}

_LOOPBACK = ("127.0.0.1", "::1")


def default_user_has_password(state: "ServerState") -> bool:
    """Whether the ACL default user needs a password (is not ``nopass``): protected
    mode refuses remote clients only while it does not (``requirepass`` sets it)."""
    return not state.acl.default.nopass


def auth_required(client: Any) -> bool:
    """Redis's authRequired(): the client has yet to authenticate to be served (the
    default user has a password or is off, and the client has not authenticated)."""
    return not client.authenticated and not client.state.acl.open


def is_loopback(host: str) -> bool:
    """Redis's test of a peer address: the two loopback spellings, nothing else."""
    return host in _LOOPBACK


def is_local(client: Any) -> bool:
    """islocalClient(): the unix socket, or a loopback TCP peer. An in-process client
    without a socket (the embedding API's ``Server.execute``) is local too."""
    if client.unix or client.fd < 0:
        return True
    host = client.addr.rsplit(":", 1)[0]
    return is_loopback(host)


def refuse_connection(state: "ServerState", host: str, unix: bool) -> Optional[bytes]:
    """The bytes to send before closing a connection protected mode refuses, or None.

    ``host`` is the peer's address as accept() gave it (no port).
    """
    if unix or not state.config["protected-mode"] or default_user_has_password(state):
        return None
    if is_loopback(host):
        return None
    return b"-%s\r\n" % errors.PROTECTED_MODE_DENIED.encode()


def _allowed(setting: str, client: Any) -> bool:
    value = client.state.config[setting]
    return value == "yes" or (value == "local" and is_local(client))


def command_refusal(client: Any, name: str) -> Optional[str]:
    """Redis's refusal of a protected command (``name`` as PROTECTED_COMMANDS has it)
    for ``client``, or None."""
    setting = PROTECTED_COMMANDS.get(name)
    if setting is None or _allowed(setting, client):
        return None
    return _REFUSALS[setting]
