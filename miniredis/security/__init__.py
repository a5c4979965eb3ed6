"""Security: who may connect, what they may send, what they may run.

Everything that decides whether a client may do something lives here, in one place:
ACL users and their permissions (:mod:`.acl`), protected mode and the limits on what an
unauthenticated client may send. Dispatch consults it once per command, on the slow
path only (``Client.gated``): a client with every right pays nothing.
"""
