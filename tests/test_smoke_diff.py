"""First differential checks: the commands of the core skeleton."""


def test_get_set(differ):
    differ.check("SET a b", "GET a", "GET missing", "SET a c XX GET", "SET n 1 NX",
                 "SET n 1 NX GET", "SET x y EX 0", "SET x y EX abc", "SET x y PX 100 EX 1",
                 "SET x y KEEPTTL EX 10", "SET x y foo", "GET a b")


def test_counters(differ):
    differ.check("INCR c", "INCRBY c 10", "DECR c", "DECRBY c 5", "INCRBY c x",
                 "SET s abc", "INCR s", "SET big 9223372036854775807", "INCR big",
                 "DECRBY c -9223372036854775808", "SET z 010", "INCR z")


def test_unknown_and_arity(differ):
    differ.check("FOO bar baz", "GET", "PING a b", "PING", "PING hello", "ECHO x",
                 "CONFIGX", ["foo", "a" * 200, "b"])
