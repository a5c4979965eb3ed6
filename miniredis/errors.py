"""Every error the server sends, in one place, with Redis 7's exact texts.

Handlers raise ``CommandError(MESSAGE)``; the dispatcher turns it into a ``-...`` reply.
A message starts with its error code (``ERR``, ``WRONGTYPE``, ``NOAUTH``...), exactly as
it goes on the wire.
"""
from __future__ import annotations

from typing import List


class CommandError(Exception):
    """A Redis error reply. ``message`` is the full text after the ``-``."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def c_text(value: bytes) -> str:
    """An argument as C's ``%s`` prints it into an error text: up to its first NUL."""
    nul = value.find(b"\0")
    return (value if nul < 0 else value[:nul]).decode("utf-8", "surrogateescape")


def subcommand_syntax_error(args: List[bytes]) -> str:
    """addReplySubcommandSyntaxError: a container command's handler refusing its
    subcommand or the count of its arguments (the subcommand as given, up to 128
    bytes and its first NUL)."""
    return UNKNOWN_SUBCOMMAND_OR_ARITY.format(c_text(args[1][:128]), c_text(args[0]).upper())


class Refused(CommandError):
    """An error Redis gives in processCommand, before the call (a protected command
    refused): a handler raising it is counted as a rejected call, as the gate's
    refusals are, not as a failed one."""

    __slots__ = ()


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
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
# A replica (miniredis.replication.replica): replica-read-only, replica-serve-stale-data.
READONLY_REPLICA = "READONLY You can't write against a read only replica."
MASTERDOWN = ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to "
              "'no'.")
SCRIPT_STALE_REPLICA = "ERR Can not execute the command on a stale replica"
LOADING = "LOADING Redis is loading the dataset in memory"
REPLICAOF_INVALID_PORT = "ERR Invalid master port"
REPLICAOF_FROM_REPLICA = "ERR Command is not valid when client is a replica."
UNBLOCKED_ROLE_CHANGE = ("UNBLOCKED force unblock from blocking operation, instance state "
                         "changed (master -> replica?)")
CLUSTER_DISABLED = "ERR This instance has cluster support disabled"
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
# A client that must still authenticate may announce at most 10 arguments of 16 KB.
PROTO_UNAUTH_MULTIBULK = "ERR Protocol error: unauthenticated multibulk length"
PROTO_UNAUTH_BULK = "ERR Protocol error: unauthenticated bulk length"

# --- protected mode (sent, then the connection is closed) -----------------------------
PROTECTED_MODE_DENIED = (
    "DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted "
    "from the loopback interface. If you want to connect from external computers to "
    "Redis you may adopt one of the following solutions: 1) Just disable protected mode "
    "sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
    "connecting to Redis from the same host the server is running, however MAKE SURE "
    "Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to "
    "make this change permanent. 2) Alternatively you can just disable the protected mode "
    "by editing the Redis configuration file, and setting the protected mode option to "
    "'no', and then restarting the server. 3) If you started the server manually just for "
    "testing, restart it with the '--protected-mode no' option. 4) Setup a an "
    "authentication password for the default user. NOTE: You only need to do one of the "
    "above things in order for the server to start accepting connections from the "
    "outside.")

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
CONFIG_REWRITE_NO_FILE = "ERR The server is running without a config file"
CONFIG_REWRITE_FAILED = "ERR Rewriting config file: {}"
CONFIG_REWRITE_FORCE_ALL_FAILED = "ERR CONFIG-REWRITE-FORCE-ALL failed: {}"
GETKEYS_INVALID = "ERR Invalid command specified"
GETKEYS_ARITY = "ERR Invalid number of arguments specified for command"
GETKEYS_NO_KEYS = "ERR The command has no key arguments"
GETKEYS_INVALID_ARGS = "ERR Invalid arguments specified for command"
SLOWLOG_COUNT = "ERR count should be greater than or equal to -1"
SHUTDOWN_NOT_IN_PROGRESS = "ERR No shutdown in progress."
SHUTDOWN_FAILED = "ERR Errors trying to SHUTDOWN. Check logs."
SHUTDOWN_DENY_BLOCKING = ("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY "
                          "BLOCKING client")

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
CLIENT_CACHING_YES_OPTIN = (
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
CLIENT_CACHING_NO_OPTOUT = (
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
TRACKING_ONE_REDIRECT = "ERR A client can only redirect to a single other client"
TRACKING_NO_REDIRECT_CLIENT = "ERR The client ID you want redirect to does not exist"
TRACKING_PREFIX_NEEDS_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
TRACKING_SWITCH_BCAST = (
    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
    "and then re-enabling it with a different mode.")
TRACKING_BCAST_OPTIN = "ERR OPTIN and OPTOUT are not compatible with BCAST"
TRACKING_OPTIN_OPTOUT = "ERR You can't specify both OPTIN mode and OPTOUT mode"
TRACKING_SWITCH_OPTIN = (
    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
    "and then re-enabling it with a different mode.")
TRACKING_PREFIX_OVERLAP_EXISTING = (
    "ERR Prefix '{}' overlaps with an existing prefix '{}'. "
    "Prefixes for a single client must not overlap.")
TRACKING_PREFIX_OVERLAP = (
    "ERR Prefix '{}' overlaps with another provided prefix '{}'. "
    "Prefixes for a single client must not overlap.")
TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
CLIENT_EVICTION_DISABLED = "ERR maxmemory-clients is disabled."  # DEBUG CLIENT-EVICTION
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
HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
INCREMENT_NAN_OR_INFINITY = "ERR value is NaN or Infinity"
# The range of a random-count argument (HRANDFIELD, SRANDMEMBER): -LONG_MAX..LONG_MAX.
RANDOM_COUNT_RANGE = ("ERR value is out of range, value must between -9223372036854775807 "
                      "and 9223372036854775807")
VALUE_OUT_OF_RANGE = "ERR value is out of range"



# --- sets --------------------------------------------------------------------------------
NUMKEYS_EXCEED_ARGS = "ERR Number of keys can't be greater than number of args"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"



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
STREAM_INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
STREAM_INVALID_START = "ERR invalid start ID for the interval"
STREAM_INVALID_END = "ERR invalid end ID for the interval"
XADD_ID_TOO_SMALL = ("ERR The ID specified in XADD is equal or smaller than the target "
                     "stream top item")
XADD_TOO_LARGE = "ERR Elements are too large to be stored"
XADD_ID_ZERO = "ERR The ID specified in XADD must be greater than 0-0"
XADD_EXHAUSTED = ("ERR The stream has exhausted the last possible ID, unable to add more "
                  "items")
XADD_MAXLEN_AND_MINID = ("ERR syntax error, MAXLEN and MINID options at the same time are "
                         "not compatible")
XADD_MAXLEN_NEGATIVE = "ERR The MAXLEN argument must be >= 0."
XADD_LIMIT_NEGATIVE = "ERR The LIMIT argument must be >= 0."
XADD_LIMIT_WITHOUT_STRATEGY = ("ERR syntax error, LIMIT cannot be used without specifying "
                               "a trimming strategy")
XADD_LIMIT_WITHOUT_APPROX = ("ERR syntax error, LIMIT cannot be used without the special ~ "
                             "option")
XSETID_ENTRIES_ADDED_NEGATIVE = "ERR entries_added must be positive"
XSETID_BELOW_GIVEN_MAX_DELETED = ("ERR The ID specified in XSETID is smaller than the "
                                  "provided max_deleted_entry_id")
XSETID_BELOW_TOP = ("ERR The ID specified in XSETID is smaller than the target stream top "
                    "item")
XSETID_ENTRIES_ADDED_SMALL = ("ERR The entries_added specified in XSETID is smaller than "
                              "the target stream length")
XREAD_UNBALANCED = ("ERR Unbalanced XREAD list of streams: for each stream key an ID or "
                    "'$' must be specified.")
XREAD_GROUP_OPTION = ("ERR The GROUP option is only supported by XREADGROUP. You called "
                      "XREAD instead.")
XREAD_NOACK_OPTION = ("ERR The NOACK option is only supported by XREADGROUP. You called "
                      "XREAD instead.")
XREAD_GT = ("ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
            "<group> <consumer> option.")
XREADGROUP_NO_GROUP = "ERR Missing GROUP option for XREADGROUP"
# {} is the command name as the script spelled it
XREAD_BLOCK_IN_SCRIPT = "ERR {} command is not allowed with BLOCK option from scripts"
XREADGROUP_NOGROUP = ("NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with "
                      "GROUP option")
XREADGROUP_DOLLAR = (
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
    "history of this consumer by specifying a proper ID, or use the > ID to get new "
    "messages. The $ ID would just return an empty result set.")
XREADGROUP_KEY_DELETED = "UNBLOCKED the stream key no longer exists"
XREADGROUP_GROUP_DESTROYED = ("NOGROUP the consumer group this client was blocked on no "
                              "longer exists")
XGROUP_KEY_REQUIRED = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may "
    "want to use the MKSTREAM option to create an empty stream automatically.")
XGROUP_NOGROUP = "NOGROUP No such consumer group '{}' for key name '{}'"
XGROUP_ENTRIESREAD = "ERR value for ENTRIESREAD must be positive or -1"
BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
STREAM_NOGROUP = "NOGROUP No such key '{}' or consumer group '{}'"
XCLAIM_MIN_IDLE = "ERR Invalid min-idle-time argument for XCLAIM"
XCLAIM_IDLE = "ERR Invalid IDLE option argument for XCLAIM"
XCLAIM_TIME = "ERR Invalid TIME option argument for XCLAIM"
XCLAIM_RETRYCOUNT = "ERR Invalid RETRYCOUNT option argument for XCLAIM"
XCLAIM_OPTION = "ERR Unrecognized XCLAIM option '{}'"
XAUTOCLAIM_MIN_IDLE = "ERR Invalid min-idle-time argument for XAUTOCLAIM"
XAUTOCLAIM_COUNT = "ERR COUNT must be > 0"
XAUTOCLAIM_NO_MEMORY = ("ERR Insufficient memory, failed allocating transient memory, COUNT "
                        "too high.")



# --- transactions ------------------------------------------------------------------------
MULTI_NESTED = "ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "ERR DISCARD without MULTI"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
EXECABORT_BECAUSE = "EXECABORT Transaction discarded because of: "
WATCH_IN_MULTI = "ERR WATCH inside MULTI is not allowed"
NOT_ALLOWED_IN_MULTI = "ERR Command not allowed inside a transaction"



# --- pub/sub -----------------------------------------------------------------------------
PUBSUB_CONTEXT = ("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                  "QUIT / RESET are allowed in this context")



# --- scripting ---------------------------------------------------------------------------
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
NUMKEYS_TOO_BIG = "ERR Number of keys can't be greater than number of args"
NUMKEYS_NEGATIVE = "ERR Number of keys can't be negative"
SCRIPT_COMPILE = "ERR Error compiling script (new function): {}"
SCRIPT_SHEBANG_INVALID = "ERR Invalid script shebang"
SCRIPT_SHEBANG_ENGINE = "ERR Unexpected engine in script shebang: {}"
SCRIPT_SHEBANG_NO_ENGINE = "ERR Invalid engine in script shebang"
SCRIPT_SHEBANG_FLAG = "ERR Unexpected flag in script shebang: {}"
SCRIPT_SHEBANG_OPTION = "ERR Unknown lua shebang option: {}"
SCRIPT_WRITE_FLAG_RO = "ERR Can not execute a script with write flag using *_ro command."
SCRIPT_UNKNOWN_COMMAND = "ERR Unknown Redis command called from script"
SCRIPT_WRONG_ARITY = "ERR Wrong number of args calling Redis command from script"
SCRIPT_NOT_ALLOWED = "ERR This Redis command is not allowed from script"
SCRIPT_READONLY = "ERR Write commands are not allowed from read-only scripts."
SCRIPT_KILLED = "ERR Script killed by user with SCRIPT KILL..."
SCRIPT_FLUSH_OPTION = "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
# SCRIPT DEBUG and the Lua debugger (miniredis/scripting/ldb.py)
LDB_MODE = "ERR Use SCRIPT DEBUG YES/SYNC/NO"
LDB_PIPELINE = "ERR SCRIPT DEBUG must be called outside a pipeline"
LDB_EVALSHA = "ERR Please use EVAL instead of EVALSHA for debugging"
LDB_FORK = "ERR Fork() failed: can't run EVAL in debugging mode: {}"
# ... raised inside the script being debugged
LDB_PROTOCOL = b"ERR protocol error"
LDB_BUFFER = b"ERR max client buffer reached"
LDB_ABORT = b"ERR script aborted for user request"
LDB_TIMEOUT_CLOSED = b"ERR timeout during Lua debugging with client closing connection"
# ... and the debugger's own error lines
LDB_UNKNOWN_COMMAND = (b"<error> Unknown Redis Lua debugger command or wrong number of "
                       b"arguments.")
LDB_NO_STACK = b"<error> Can't retrieve Lua stack."
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the "
              "dataset. You can either wait the script termination or kill the server in a "
              "hard way using the SHUTDOWN NOSAVE command.")
BUSY_SCRIPT = ("BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
               "SHUTDOWN NOSAVE.")
BUSY_FUNCTION = ("BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                 "SHUTDOWN NOSAVE.")

# --- functions (FUNCTION, FCALL, FCALL_RO) ---------------------------------------------
FUNCTION_NO_METADATA = "ERR Missing library metadata"
FUNCTION_BAD_METADATA = "ERR Invalid library metadata"
FUNCTION_NAME_TWICE = "ERR Invalid metadata value, name argument was given multiple times"
FUNCTION_BAD_METADATA_VALUE = "ERR Invalid metadata value given: {}"
FUNCTION_NO_LIBRARY_NAME = "ERR Library name was not given"
FUNCTION_BAD_NAME = ("ERR Library names can only contain letters, numbers, or underscores(_) "
                     "and must be at least one character long")
FUNCTION_NO_ENGINE = "ERR Engine '{}' not found"
FUNCTION_LIBRARY_EXISTS = "ERR Library '{}' already exists"
FUNCTION_LIBRARY_EXISTS_JOIN = "ERR Library {} already exists"
FUNCTION_EXISTS = "ERR Function {} already exists"
FUNCTION_NONE_REGISTERED = "ERR No functions registered"
FUNCTION_COMPILE = "ERR Error compiling function: {}"
FUNCTION_REGISTER = "ERR Error registering functions: {}"
FUNCTION_LIBRARY_NOT_FOUND = "ERR Library not found"
FUNCTION_NOT_FOUND = "ERR Function not found"
FUNCTION_BAD_NUMKEYS = "ERR Bad number of keys provided"
FUNCTION_NUMKEYS_TOO_BIG = "ERR Number of keys can't be greater than number of args"
FUNCTION_NUMKEYS_NEGATIVE = "ERR Number of keys can't be negative"
FUNCTION_LIST_NO_NAME = "ERR library name argument was not given"
FUNCTION_LIST_UNKNOWN = "ERR Unknown argument {}"
FUNCTION_LOAD_OPTION = "ERR Unknown option given: {}"
FUNCTION_LOAD_NO_CODE = "ERR Function code is missing"
FUNCTION_FLUSH_OPTION = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option"
FUNCTION_RESTORE_POLICY = ("ERR Wrong restore policy given, value should be either FLUSH, "
                           "APPEND or REPLACE.")
FUNCTION_RESTORE_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
FUNCTION_RESTORE_TYPE = "ERR can not read data type"
FUNCTION_RESTORE_NOT_FUNCTION = "ERR given type is not a function"
FUNCTION_RESTORE_LIBRARY = "ERR Failed loading library payload"



# --- sort (SORT, SORT_RO) -----------------------------------------------------------------
SORT_NOT_DOUBLE = "ERR One or more scores can't be converted into double"

# --- persistence -------------------------------------------------------------------------
REWRITE_RUNNING = "ERR Background append only file rewriting already in progress"
REWRITE_CANT_START = ("ERR Can't execute an AOF background rewriting. Please check the "
                      "server logs for more information.")
BGSAVE_RUNNING = "ERR Background save already in progress"
BGSAVE_REWRITE_RUNNING = ("ERR Another child process is active (AOF?): can't BGSAVE right "
                          "now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever "
                          "possible.")
SAVE_FAILED = "ERR"

# --- HyperLogLog (PFADD, PFCOUNT, PFMERGE, PFDEBUG) -----------------------------------------
HLL_INVALID = "INVALIDOBJ Corrupted HLL object detected"
HLL_WRONGTYPE = "WRONGTYPE Key is not a valid HyperLogLog string value."
HLL_NO_KEY = "ERR The specified key does not exist"
HLL_NOT_SPARSE = "ERR HLL encoding is not sparse"
HLL_UNKNOWN_SUBCOMMAND = "ERR Unknown PFDEBUG subcommand '{}'"
HLL_TEST_REGISTER = "TESTFAILED Register {} should be {} but is {}"
HLL_TEST_SPARSE = "TESTFAILED sparse encoding not used"
HLL_TEST_DISAGREE = "TESTFAILED dense/sparse disagree"
HLL_TEST_ERROR = "TESTFAILED Too big error. card:{} abserr:{}"

# --- GEO -------------------------------------------------------------------------------------
GEO_INVALID_PAIR = "ERR invalid longitude,latitude pair {:f},{:f}"
GEO_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
GEO_NEED_RADIUS = "ERR need numeric radius"
GEO_RADIUS_NEGATIVE = "ERR radius cannot be negative"
GEO_NEED_WIDTH = "ERR need numeric width"
GEO_NEED_HEIGHT = "ERR need numeric height"
GEO_BOX_NEGATIVE = "ERR height or width cannot be negative"
GEO_MEMBER = "ERR could not decode requested zset member"
GEO_COUNT = "ERR COUNT must be > 0"
GEO_STORE_OPTIONS = "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
GEO_FROM = "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}"
GEO_BY = "ERR exactly one of BYRADIUS and BYBOX can be specified for {}"
GEO_ANY = "ERR the ANY argument requires COUNT argument"

# --- ACL (security/acl.py, commands/acl.py) -----------------------------------------
NOPERM_COMMAND = "NOPERM this user has no permissions to run the '{}' command"
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = ("NOPERM this user has no permissions to access one of the channels used "
                  "as arguments")
NOPERM_EXEC = ("NOPERM ACLs rules changed between the moment the transaction was "
               "accumulated and the EXEC call. This command is no longer allowed for the "
               "following reason: {}")
NOPERM_EXEC_REASONS = {1: "no permission to execute the command or subcommand",
                       2: "no permission to touch the specified keys",
                       4: "no permission to access one of the channels used as arguments"}
# getAclErrorMessage: scripts ("The user executing the script ...").
ACL_DENIED_MESSAGES = {
    1: "can't run this command or subcommand",
    2: "can't access at least one of the keys mentioned in the command arguments",
    4: "can't publish to the channel mentioned in the command"}
ACL_SCRIPT_DENIED = "ERR The user executing the script {}"
# ACL DRYRUN answers these as bulk strings, not errors.
ACL_DRYRUN_COMMAND = "This user has no permissions to run the '{}' command"
ACL_DRYRUN_KEY = "This user has no permissions to access the '{}' key"
ACL_DRYRUN_CHANNEL = "This user has no permissions to access the '{}' channel"
ACL_SETUSER_MODIFIER = "ERR Error in ACL SETUSER modifier '{}': {}"
ACL_UNMATCHED_PARENTHESIS = "ERR Unmatched parenthesis in acl selector starting at '{}'."
ACL_USERNAME_SPACES = "ERR Usernames can't contain spaces or null characters"
ACL_DELETE_DEFAULT = "ERR The 'default' user cannot be removed"
ACL_NO_FILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have "
    "a Redis configuration file set) in order to store users in the Redis configuration.")
ACL_SAVE_FAILED = ("ERR There was an error trying to save the ACLs. Please check the server "
                   "logs for more information")
ACL_UNKNOWN_CATEGORY = "ERR Unknown category '{}'"
ACL_GENPASS_BITS = ("ERR ACL GENPASS argument must be the number of bits for the output "
                    "password, a positive number up to 4096")
ACL_DRYRUN_NO_USER = "ERR User '{}' not found"
ACL_DRYRUN_NO_COMMAND = "ERR Command '{}' not found"
# ACLSetUserStringError: why a rule was refused.
ACL_RULE_UNKNOWN = "Unknown command or category name in ACL"
ACL_RULE_SYNTAX = "Syntax error"
ACL_RULE_KEYS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
    "not have any effect. Try 'resetkeys' to start with an empty list of patterns")
ACL_RULE_CHANNELS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
    "does not have any effect. Try 'resetchannels' to start with an empty list of channels")
ACL_RULE_NO_PASSWORD = "The password you are trying to remove from the user does not exist"
ACL_RULE_BAD_HASH = ("The password hash must be exactly 64 characters and contain only "
                     "lowercase hexadecimal characters")
ACL_RULE_DUPLICATE_USER = ("Duplicate user found. A user can only be defined once in config "
                           "files")
ACL_RULE_SUBCOMMAND_FIRSTARG = "Allowing first-arg of a subcommand is not supported"
SORT_BY_ACL = "ERR BY option of SORT denied due to insufficient ACL permissions."
SORT_GET_ACL = "ERR GET option of SORT denied due to insufficient ACL permissions."
# --- maxmemory and MEMORY (evict.py, commands/memory.py) -------------------------------
OOM = "OOM command not allowed when used memory > 'maxmemory'."
SCRIPT_OOM_NO_ALLOW = ("OOM allow-oom flag is not set on the script, can not run it "
                       "when used memory > 'maxmemory'")
MEMORY_PURGE_FAILED = "ERR Error purging dirty pages"

# Writes refused while persistence fails (server.c writeCommandsGetDiskErrorMessage).
MISCONF_RDB = ("MISCONF Redis is configured to save RDB snapshots, but it's currently "
               "unable to persist to disk. Commands that may modify the data set are "
               "disabled, because this instance is configured to report errors during "
               "writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
               "Please check the Redis logs for details about the RDB error.")
MISCONF_AOF = "MISCONF Errors writing to the AOF file: {}"

# --- DUMP / RESTORE / MIGRATE ------------------------------------------------------------
DUMP_PAYLOAD_WRONG = "ERR DUMP payload version or checksum are wrong"
BUSYKEY = "BUSYKEY Target key name already exists."
INVALID_TTL = "ERR Invalid TTL value, must be >= 0"
BAD_DATA_FORMAT = "ERR Bad data format"
INVALID_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
INVALID_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
MIGRATE_KEYS_NEED_EMPTY_KEY = ("ERR When using MIGRATE KEYS option, the key argument must "
                               "be set to the empty string")
MIGRATE_CONNECT = "IOERR error or timeout connecting to the client"
MIGRATE_IO = "IOERR error or timeout {} to target instance"
MIGRATE_TARGET = "ERR Target instance replied with error: {}"

# --- DEBUG -------------------------------------------------------------------------------
DEBUG_RELOAD_OPTIONS = "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
DEBUG_RELOAD_FAILED = "ERR Error trying to load the RDB dump"
# DEBUG LOADAOF: Redis exits when there is no AOF to load or it cannot be loaded;
# miniredis answers these instead (its own texts: Redis has none).
DEBUG_LOADAOF_MISSING = "ERR DEBUG LOADAOF found no append only file to load"
DEBUG_LOADAOF_FAILED = "ERR Error trying to load the append only file: {}"
RESP2_NOT_SUPPORTED = "ERR RESP2 is not supported by this command"
DEBUG_PROTOCOL_TYPE = ("ERR Wrong protocol type name. Please use one of the following: "
                       "string|integer|double|bignum|null|array|set|map|attrib|push|"
                       "verbatim|true|false")
DEBUG_PACKED_THRESHOLD = "ERR argument must be a memory value bigger than 1 and smaller than 4gb"
DEBUG_NOT_LISTPACK = "ERR Not a listpack encoded object."
DEBUG_NOT_QUICKLIST = "ERR Not a quicklist encoded object."

# -- server administration (MONITOR, CLIENT PAUSE, MODULE, WAIT, LATENCY) ----------------
MONITOR_DENY_BLOCKING = "ERR MONITOR isn't allowed for DENY BLOCKING client"
CLIENT_PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"
MODULE_NOT_ALLOWED = (
    "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.")
MODULE_LOAD_FAILED = "ERR Error loading the extension. Please check the server logs."
MODULE_UNLOAD_MISSING = "ERR Error unloading module: no such module with that name"
REPLICA_KEYSPACE = "ERR Replica can't interact with the keyspace"
LATENCY_NO_SAMPLES = "ERR No samples available for event '{}'"

# -- replication, master side (SYNC, PSYNC, REPLCONF, WAIT) -----------------------------
SYNC_PENDING_OUTPUT = "ERR SYNC and PSYNC are invalid with pending output"
SYNC_NO_MASTER_LINK = "NOMASTERLINK Can't SYNC while not connected with my master"
SYNC_FILTER_NEEDS_EOF = "ERR Filtered replica requires EOF capability"
PSYNC_FAILOVER_MASTER = "ERR PSYNC FAILOVER can't be sent to a master."
PSYNC_FAILOVER_REPLID = "ERR PSYNC FAILOVER replid must match my replid."
SYNC_FAILING_OVER = "NOMASTERLINK Can't SYNC while failing over"
REPLICAOF_FAILING_OVER = "ERR REPLICAOF not allowed while failing over."
FAILOVER_CLUSTER = "ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER " \
    "command instead."
FAILOVER_NONE = "ERR No failover in progress."
FAILOVER_TIMEOUT = "ERR FAILOVER timeout must be greater than 0"
FAILOVER_RUNNING = "ERR FAILOVER already in progress."
FAILOVER_ON_REPLICA = "ERR FAILOVER is not valid when server is a replica."
FAILOVER_NO_REPLICAS = "ERR FAILOVER requires connected replicas."
FAILOVER_FORCE = "ERR FAILOVER with force option requires both a timeout and target " \
    "HOST and IP."
FAILOVER_NOT_REPLICA = "ERR FAILOVER target HOST and PORT is not a replica."
FAILOVER_NOT_ONLINE = "ERR FAILOVER target replica is not online."
REPLCONF_UNKNOWN = "ERR Unrecognized REPLCONF option: {}"
REPLCONF_IP_TOO_LONG = "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes"
REPLCONF_FILTER_MISSING = "ERR Missing rdb-filter-only values"
REPLCONF_FILTER_UNSUPPORTED = "ERR Unsupported rdb-filter-only option: {}"
REPLCONF_RDB_ONLY_RANGE = "ERR value is out of range, value must between 0 and 1"
WAIT_ON_REPLICA = "ERR WAIT cannot be used with replica instances. Please also note that " \
    "since Redis 4.0 if a replica is configured to be writable (which is not the default) " \
    "writes to replicas are just local and are not propagated."
