package d1

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzSplitStatements: the splitter never panics or hangs on any input, and
// each statement it returns splits to itself (a statement holds no
// top-level terminator, and none of its text is lost or invented).
//
//	go test -tags "sqlite_fts5 sqlite_math_functions" ./d1 -run '^$' -fuzz FuzzSplitStatements -fuzztime 5m
func FuzzSplitStatements(f *testing.F) {
	for _, seed := range []string{
		"SELECT 1; SELECT 2",
		"SELECT ';'; -- c;\n SELECT \"a;b\";;",
		"/* x; */ SELECT [a;b], `c;d` ;",
		"-- only a comment;\n",
		"CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); UPDATE u SET a = CASE WHEN 1 THEN 2 END; END; SELECT 1",
		"create temp trigger x after delete on t begin select 1; end;",
		"INSERT INTO t VALUES ('it''s; ok')",
		"SELECT 'unterminated",
		"/* unterminated",
		"CREATE TRIGGER t BEGIN",
		"\xff\xfe;\x00;",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		stmts, err := SplitStatements(sql)
		if err != nil {
			return
		}
		for _, st := range stmts {
			if strings.TrimSpace(st) == "" {
				t.Fatalf("empty statement from %q", sql)
			}
			again, err := SplitStatements(st)
			if err != nil || !reflect.DeepEqual(again, []string{st}) {
				t.Fatalf("statement %q of %q splits to %q, %v", st, sql, again, err)
			}
		}
	})
}
