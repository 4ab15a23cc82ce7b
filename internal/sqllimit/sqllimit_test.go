package sqllimit

import "testing"

func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means not rewritten
	}{
		{"DELETE FROM t LIMIT 1", "DELETE FROM t WHERE rowid IN (SELECT rowid FROM t LIMIT 1)"},
		{"delete from t returning * limit 1", "delete from t WHERE rowid IN (SELECT rowid FROM t limit 1) returning *"},
		{"DELETE FROM t WHERE a > ? RETURNING a, ? ORDER BY a DESC LIMIT ? OFFSET 1",
			"DELETE FROM t WHERE rowid IN (SELECT rowid FROM t WHERE a > ?1 ORDER BY a DESC LIMIT ?3 OFFSET 1) RETURNING a, ?2"},
		{"DELETE FROM main.t AS x INDEXED BY t_a WHERE x.a = 'LIMIT' ORDER BY (SELECT 1 LIMIT 1) LIMIT 2; SELECT 1",
			"DELETE FROM main.t AS x INDEXED BY t_a WHERE rowid IN (SELECT rowid FROM main.t AS x INDEXED BY t_a WHERE x.a = 'LIMIT' ORDER BY (SELECT 1 LIMIT 1) LIMIT 2); SELECT 1"},
		{"UPDATE t SET a = a + ? WHERE b = ?2 ORDER BY a LIMIT ?",
			"UPDATE t SET a = a + ?1 WHERE rowid IN (SELECT rowid FROM t WHERE b = ?2 ORDER BY a LIMIT ?3)"},
		{"UPDATE OR IGNORE \"my t\" SET a = 1 RETURNING a LIMIT 5",
			"UPDATE OR IGNORE \"my t\" SET a = 1 WHERE rowid IN (SELECT rowid FROM \"my t\" LIMIT 5) RETURNING a"},
		{"WITH old AS (SELECT id FROM t WHERE a < 0) DELETE FROM t WHERE id IN old LIMIT 3",
			"WITH old AS (SELECT id FROM t WHERE a < 0) DELETE FROM t WHERE rowid IN (SELECT rowid FROM t WHERE id IN old LIMIT 3)"},
		{"/* c */ DELETE -- x\nFROM t LIMIT 1", "/* c */ DELETE -- x\nFROM t WHERE rowid IN (SELECT rowid FROM t LIMIT 1)"},
		// Not such statements, or not SQLite's grammar with the option.
		{"SELECT * FROM t LIMIT 1", ""},
		{"DELETE FROM t WHERE a IN (SELECT a FROM u LIMIT 1)", ""},
		{"DELETE FROM t ORDER BY a", ""},
		{"DELETE FROM t LIMIT 1 ORDER BY a", ""},
		{"DELETE FROM t LIMIT 1 RETURNING *", ""},
		{"UPDATE t SET a = u.a FROM u LIMIT 1", ""},
		{"INSERT INTO t SELECT * FROM u LIMIT 1", ""},
		{"DELETE FROM t WHERE a = 'unterminated LIMIT 1", ""},
	} {
		got, ok := Rewrite(tc.in)
		if !ok {
			got = ""
		}
		if got != tc.want {
			t.Errorf("Rewrite(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
