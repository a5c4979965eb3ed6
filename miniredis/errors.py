"""Every error the server sends, in one place, with Redis 7's exact texts.

Handlers raise ``CommandError(MESSAGE)``; the dispatcher turns it into a ``-...`` reply.
A message starts with its error code (``ERR``, ``WRONGTYPE``, ``NOAUTH``...), exactly as
it goes on the wire.
"""
from __future__ import annotations


class CommandError(Exception):
    """A Redis error reply. ``message`` is the full text after the ``-``."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProtocolError(Exception):
    """Malformed client input: the client gets the error, then is disconnected."""


# --- generic -------------------------------------------------------------------------
SYNTAX = "ERR syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
INCR_FLOAT_NAN = "ERR increment would produce NaN or Infinity"
NO_SUCH_KEY = "ERR no such key"
OUT_OF_RANGE_POSITIVE = "ERR value is out of range, must be positive"
INDEX_OUT_OF_RANGE = "ERR index out of range"
DB_INDEX_OUT_OF_RANGE = "ERR DB index is out of range"
INVALID_DB_INDEX = "ERR invalid DB index"
SAME_OBJECT = "ERR source and destination objects are the same"
INVALID_EXPIRE = "ERR invalid expire time in '{}' command"
NX_XX_GT_LT = "ERR NX and XX, GT or LT options at the same time are not compatible"
GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
BIT_OFFSET = "ERR bit offset is not an integer or out of range"
BIT_VALUE = "ERR bit is not an integer or out of range"

# --- commands and arity ------------------------------------------------------------
UNKNOWN_COMMAND = "ERR unknown command '{}', with args beginning with: {}"
UNKNOWN_SUBCOMMAND = "ERR unknown subcommand '{}'. Try {} HELP."
WRONG_ARITY = "ERR wrong number of arguments for '{}' command"

# --- connection ----------------------------------------------------------------------
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_CONFIGURED = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
NOPROTO = "NOPROTO unsupported protocol version"
MAX_CLIENTS = "ERR max number of clients reached"
SELECT_NOT_ALLOWED = "ERR SELECT is not allowed in cluster mode"
CLIENT_NAME_SPACES = "ERR Client names cannot contain spaces, newlines or special characters."

# --- protocol (the client is disconnected after these) -------------------------------
PROTO_INVALID_MULTIBULK = "ERR Protocol error: invalid multibulk length"
PROTO_INVALID_BULK = "ERR Protocol error: invalid bulk length"
PROTO_EXPECTED_DOLLAR = "ERR Protocol error: expected '$', got '{}'"
PROTO_UNBALANCED_QUOTES = "ERR Protocol error: unbalanced quotes in request"
PROTO_BIG_INLINE = "ERR Protocol error: too big inline request"
PROTO_BIG_MBULK = "ERR Protocol error: too big mbulk count string"
PROTO_BIG_BULK = "ERR Protocol error: too big bulk count string"
PROTO_QUERY_BUFFER = "ERR Protocol error: query buffer limit exceeded"  # closed, not sent

# --- lists and blocking ----------------------------------------------------------------
LPOS_RANK_ZERO = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                  "second ... or use negative to start from the end of the list")
LPOS_COUNT_NEGATIVE = "ERR COUNT can't be negative"
LPOS_MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"
NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0"
COUNT_POSITIVE = "ERR count should be greater than 0"
TIMEOUT_OUT_OF_RANGE = "ERR timeout is out of range"
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

# --- keyspace ------------------------------------------------------------------------
INVALID_CURSOR = "ERR invalid cursor"
UNSUPPORTED_OPTION = "ERR Unsupported option {}"
GT_AND_LT = "ERR GT and LT options at the same time are not compatible"
INVALID_FIRST_DB = "ERR invalid first DB index"
INVALID_SECOND_DB = "ERR invalid second DB index"
OBJECT_FREQ_NOT_LFU = (
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
    "note that when switching between policies at runtime LRU and LFU data will take "
    "some time to adjust.")
OBJECT_IDLETIME_LFU = (
    "ERR An LRU maxmemory policy is not selected, no access time tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take some "
    "time to adjust.")

# --- strings and bits ------------------------------------------------------------------
OFFSET_OUT_OF_RANGE = "ERR offset is out of range"
BITPOS_BIT = "ERR The bit argument must be 1 or 0."
BITOP_NOT = "ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE = ("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is "
                 "not supported but i64 is.")
BITFIELD_OVERFLOW = "ERR Invalid OVERFLOW type specified"
BITFIELD_RO = "ERR BITFIELD_RO only supports the GET subcommand"
LCS_NOT_STRINGS = "ERR The specified keys must contain string values"
LCS_LEN_AND_IDX = "ERR If you want both the length and indexes, please just use IDX."

# --- CLIENT ----------------------------------------------------------------------------
CLIENT_NO_SUCH = "ERR No such client"
CLIENT_ID_POSITIVE = "ERR client-id should be greater than 0"
CLIENT_INVALID_ID = "ERR Invalid client ID"
CLIENT_UNKNOWN_TYPE = "ERR Unknown client type '{}'"
CLIENT_UNBLOCK_MODE = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
CLIENT_SETINFO_ATTR = "ERR Unrecognized option '{}'"
CLIENT_SETINFO_VALUE = "ERR {} cannot contain spaces, newlines or special characters."
NO_SUCH_USER = "ERR No such user '{}'"

# --- server ----------------------------------------------------------------------------
CONFIG_SET_UNKNOWN = "ERR Unknown option or number of arguments for CONFIG SET - '{}'"
CONFIG_SET_DUPLICATE = "ERR CONFIG SET failed (possibly related to argument '{}') - duplicate parameter"
CONFIG_SET_FAILED = "ERR CONFIG SET failed (possibly related to argument '{}') - {}"
GETKEYS_INVALID = "ERR Invalid command specified"
GETKEYS_ARITY = "ERR Invalid number of arguments specified for command"
GETKEYS_NO_KEYS = "ERR The command has no key arguments"
SLOWLOG_COUNT = "ERR count should be greater than or equal to -1"
SHUTDOWN_NOT_IN_PROGRESS = "ERR No shutdown in progress."

# --- keyspace (appended) ---------------------------------------------------------------
INT_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
OBJECT_IDLETIME_IS_LFU = (
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
    "when switching between policies at runtime LRU and LFU data will take some time to "
    "adjust.")

# Server and connection commands (CLIENT PAUSE/CACHING, CONFIG, COMMAND, DEBUG)
CLIENT_CACHING_NO_TRACKING = (
    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN "
    "or OPTOUT mode enabled")
CLIENT_PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"
TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
UNKNOWN_SUBCOMMAND_OR_ARITY = ("ERR unknown subcommand or wrong number of arguments for '{}'. "
                               "Try {} HELP.")
DEBUG_NOT_ALLOWED = (
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.")

# --- strings (appended) ----------------------------------------------------------------
LCS_TOO_MUCH_MEMORY = ("ERR Insufficient memory, transient memory for LCS exceeds "
                       "proto-max-bulk-len")


# --- hashes ------------------------------------------------------------------------------



# --- sets --------------------------------------------------------------------------------



# --- sorted sets -------------------------------------------------------------------------
ZADD_NX_XX = "ERR XX and NX options at the same time are not compatible"
ZADD_GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
ZADD_INCR_PAIR = "ERR INCR option supports a single increment-element pair"
ZSET_NAN = "ERR resulting score is not a number (NaN)"
ZSET_RANGE_NOT_FLOAT = "ERR min or max is not a float"
ZSET_RANGE_NOT_STRING = "ERR min or max not valid string range item"
ZRANGE_LIMIT = ("ERR syntax error, LIMIT is only supported in combination with either "
                "BYSCORE or BYLEX")
ZRANGE_WITHSCORES_BYLEX = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
ZSET_NEED_KEYS = "ERR at least 1 input key is needed for '{}' command"
ZSET_WEIGHT_NOT_FLOAT = "ERR weight value is not a float"
ZSET_LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
ZRANDMEMBER_RANGE = ("ERR value is out of range, value must between -9223372036854775807 "
                     "and 9223372036854775807")
ZRANDMEMBER_OUT_OF_RANGE = "ERR value is out of range"



# --- streams -----------------------------------------------------------------------------



# --- transactions ------------------------------------------------------------------------



# --- pub/sub -----------------------------------------------------------------------------



# --- scripting ---------------------------------------------------------------------------



# --- persistence -------------------------------------------------------------------------
