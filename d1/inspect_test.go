package d1

import (
	"context"
	"errors"
	"testing"
)

// Read-only inspection refuses SQL that writes, and changes nothing;
// results are capped; tables are listed and paged.
func TestInspect(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustQuery(t, db, "CREATE TABLE t (x INTEGER)")
	mustQuery(t, db, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 30) INSERT INTO t SELECT i FROM s")
	for _, tc := range []struct {
		sql       string
		readOnly  bool
		max       int
		err       error
		rows      int
		truncated bool
		count     int64
	}{
		{"SELECT * FROM t", true, 10, nil, 10, true, 30},
		{"SELECT * FROM t", true, 0, nil, 30, false, 30},
		{"DELETE FROM t", true, 0, ErrReadOnly, 0, false, 30},
		{"SELECT 1; DELETE FROM t", true, 0, ErrReadOnly, 0, false, 30},
		{"CREATE TABLE u (y)", true, 0, ErrReadOnly, 0, false, 30},
		{"DELETE FROM t WHERE x > 20 RETURNING x", false, 4, nil, 4, true, 20},
	} {
		res, truncated, err := db.Inspect(ctx, tc.sql, nil, tc.readOnly, tc.max)
		if !errors.Is(err, tc.err) {
			t.Errorf("%q: error %v, want %v", tc.sql, err, tc.err)
		}
		if err == nil && (len(res.Rows) != tc.rows || truncated != tc.truncated) {
			t.Errorf("%q: %d rows truncated=%v, want %d %v", tc.sql, len(res.Rows), truncated, tc.rows, tc.truncated)
		}
		if got := mustQuery(t, db, "SELECT count(*) FROM t").Rows[0][0]; got != tc.count {
			t.Errorf("after %q: %v rows, want %d", tc.sql, got, tc.count)
		}
	}
	tables, err := db.Tables(ctx)
	if err != nil || len(tables) != 1 || tables[0].Name != "t" || tables[0].Rows != 20 || !tables[0].RowID {
		t.Fatalf("tables = %+v, %v", tables, err)
	}
	for _, tc := range []struct {
		after     int64
		rows      int
		first     int64
		truncated bool
	}{{0, 8, 1, true}, {8, 8, 9, true}, {16, 4, 17, false}} {
		res, truncated, err := db.Rows(ctx, "t", tc.after, 8)
		if err != nil || len(res.Rows) != tc.rows || res.Rows[0][0] != tc.first || truncated != tc.truncated || res.Columns[0] != "rowid" {
			t.Errorf("after %d: %d rows from %v truncated=%v err=%v", tc.after, len(res.Rows), res.Rows[0][0], truncated, err)
		}
	}
	if _, _, err := db.Rows(ctx, "_cf_METADATA", 0, 8); !errors.Is(err, ErrNoTable) {
		t.Errorf("internal table: %v, want ErrNoTable", err)
	}
}
