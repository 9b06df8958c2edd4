# Drives marmot with PyMySQL: parameters, NULLs, BLOBs, DATETIME/DATE/DECIMAL
# and unsigned values round-tripping with the Python types MySQL gives.
import datetime
import decimal
import sys

import pymysql

port = int(sys.argv[1])
conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True)
cur = conn.cursor()
cur.execute("CREATE DATABASE IF NOT EXISTS py")
cur.execute("USE py")
cur.execute("""CREATE TABLE t (
  id INT AUTO_INCREMENT PRIMARY KEY,
  big BIGINT UNSIGNED,
  price DECIMAL(10,2),
  at DATETIME,
  day DATE,
  data BLOB,
  name VARCHAR(50),
  note TEXT
)""")
cur.execute(
    "INSERT INTO t (big, price, at, day, data, name, note) VALUES (%s, %s, %s, %s, %s, %s, %s)",
    (18446744073709551000 // 2, decimal.Decimal("12.50"), datetime.datetime(2024, 3, 5, 14, 7, 9),
     datetime.date(2024, 3, 5), b"\x00\x01\xfe\xff", "it's \"quoted\" \\ ok", None),
)
new_id = cur.lastrowid
assert new_id > 0 and new_id < 2**53, new_id
cur.execute("SELECT big, price, at, day, data, name, note FROM t WHERE id = %s", (new_id,))
row = cur.fetchone()
want = (9223372036854775500, decimal.Decimal("12.50"), datetime.datetime(2024, 3, 5, 14, 7, 9),
        datetime.date(2024, 3, 5), b"\x00\x01\xfe\xff", "it's \"quoted\" \\ ok", None)
for got, exp in zip(row, want):
    assert got == exp and type(got) == type(exp), (got, exp, type(got), type(exp))
# Transactions.
conn.autocommit(False)
cur.execute("INSERT INTO t (name) VALUES ('rolled back')")
conn.rollback()
cur.execute("INSERT INTO t (name) VALUES ('kept')")
conn.commit()
cur.execute("SELECT COUNT(*) FROM t WHERE name IN ('rolled back', 'kept')")
assert cur.fetchone()[0] == 1
# Errors come back as MySQL errors with codes.
try:
    cur.execute("SELECT * FROM nope")
    raise SystemExit("no error for a missing table")
except pymysql.err.ProgrammingError as e:
    assert e.args[0] == 1146, e
try:
    cur.execute("INSERT INTO t (id, name) VALUES (%s, 'dup')", (new_id,))
    raise SystemExit("no error for a duplicate key")
except pymysql.err.IntegrityError as e:
    assert e.args[0] == 1062, e
conn.rollback()
print("pymysql ok")
