package d1

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplitStatements(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"SELECT 1; SELECT 2", []string{"SELECT 1", "SELECT 2"}},
		{"SELECT ';'; -- c;\n SELECT \"a;b\";;", []string{"SELECT ';'", "-- c;\n SELECT \"a;b\""}},
		{"/* x; */ SELECT [a;b], `c;d` ;", []string{"/* x; */ SELECT [a;b], `c;d`"}},
		{"-- only a comment;\n", nil},
		{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); UPDATE u SET a = CASE WHEN 1 THEN 2 END; END; SELECT 1",
			[]string{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); UPDATE u SET a = CASE WHEN 1 THEN 2 END; END", "SELECT 1"}},
		{"create temp trigger x after delete on t begin select 1; end;", []string{"create temp trigger x after delete on t begin select 1; end"}},
		{"INSERT INTO t VALUES ('it''s; ok')", []string{"INSERT INTO t VALUES ('it''s; ok')"}},
	} {
		got, err := SplitStatements(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitStatements(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := SplitStatements("SELECT 'unterminated"); err == nil {
		t.Error("unterminated quote: no error")
	}
}

// Export then import into a fresh database gives the same data and types.
func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := openTest(t)
	for _, q := range []string{
		"CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL, data BLOB)",
		"CREATE TABLE c (pid INTEGER REFERENCES p(id), note TEXT)",
		"CREATE INDEX c_pid ON c(pid)",
		"CREATE TRIGGER p_del AFTER DELETE ON p BEGIN DELETE FROM c WHERE pid = old.id; END",
		"CREATE VIEW v AS SELECT name FROM p",
		"INSERT INTO p VALUES (1, 'it''s', 2.0, X'00ff'), (2, 'a'||char(0)||'b', 1e300, NULL), (3, 'line\n', -0.5, X'')",
		"INSERT INTO c VALUES (1, 'x'), (3, NULL)",
	} {
		mustQuery(t, src, q)
	}
	var dump bytes.Buffer
	if err := src.Export(ctx, &dump, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dump.String(), "_cf_") || strings.Contains(dump.String(), "BEGIN TRANSACTION") {
		t.Errorf("dump has hidden tables or transactions:\n%s", dump.String())
	}
	dst := openTest(t)
	st, err := dst.Import(ctx, bytes.NewReader(dump.Bytes()), nil)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, dump.String())
	}
	if st.Changes != 5 {
		t.Errorf("import changes = %d, want 5", st.Changes)
	}
	q := "SELECT id, name, score, typeof(score), data, typeof(data) FROM p ORDER BY id"
	a, b := mustQuery(t, src, q), mustQuery(t, dst, q)
	if !reflect.DeepEqual(a.Rows, b.Rows) {
		t.Errorf("rows differ:\n%v\n%v", a.Rows, b.Rows)
	}
	var dump2 bytes.Buffer
	if err := dst.Export(ctx, &dump2, ExportOptions{}); err != nil || dump2.String() != dump.String() {
		t.Errorf("second export differs (%v):\n%s\n---\n%s", err, dump.String(), dump2.String())
	}
	var onlyData bytes.Buffer
	if err := src.Export(ctx, &onlyData, ExportOptions{Tables: []string{"c"}, NoSchema: true}); err != nil {
		t.Fatal(err)
	}
	if want := "PRAGMA defer_foreign_keys=TRUE;\nINSERT INTO \"c\" VALUES(1,'x');\nINSERT INTO \"c\" VALUES(3,NULL);\n"; onlyData.String() != want {
		t.Errorf("table c data only = %q", onlyData.String())
	}
}

// A dump with a broken statement halfway leaves the database exactly as before.
func TestImportAtomic(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustQuery(t, db, "CREATE TABLE t (a)")
	seq := db.Seq()
	_, err := db.Import(ctx, strings.NewReader("INSERT INTO t VALUES (1);\nCREATE TABLE u (b);\nINSERT INTO nope VALUES (2);\nINSERT INTO t VALUES (3);"), nil)
	var ie *ImportError
	if !errors.As(err, &ie) || ie.Line != 3 || !strings.Contains(err.Error(), "no such table: nope") {
		t.Fatalf("import error = %v", err)
	}
	r := mustQuery(t, db, "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM sqlite_schema WHERE name = 'u')")
	if r.Rows[0][0] != int64(0) || r.Rows[0][1] != int64(0) || db.Seq() != seq {
		t.Errorf("after failed import: %v, seq %d→%d", r.Rows[0], seq, db.Seq())
	}
	for _, bad := range []string{"BEGIN TRANSACTION; INSERT INTO t VALUES (1); COMMIT;", "CREATE TABLE _cf_KV (k)"} {
		if _, err := db.Import(ctx, strings.NewReader(bad), nil); err == nil {
			t.Errorf("import %q: no error", bad)
		}
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	dir := filepath.Join(t.TempDir(), "migrations")
	p1, err := CreateMigration(dir, "Create users")
	if err != nil || filepath.Base(p1) != "0001_create_users.sql" {
		t.Fatalf("create = %s, %v", p1, err)
	}
	os.WriteFile(p1, []byte("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n"), 0o644)
	p2, _ := CreateMigration(dir, "add email")
	os.WriteFile(p2, []byte("ALTER TABLE users ADD COLUMN email TEXT;\nINSERT INTO users (name) VALUES ('a');\nINSERT INTO missing VALUES (1);\n"), 0o644)
	applied, err := ApplyMigrations(ctx, db, dir, "", nil)
	var me *MigrationError
	if !errors.As(err, &me) || me.Name != "0002_add_email.sql" || len(applied) != 1 {
		t.Fatalf("apply = %v, %v", applied, err)
	}
	r := mustQuery(t, db, "SELECT count(*) FROM pragma_table_info('users') WHERE name = 'email'")
	if r.Rows[0][0] != int64(0) {
		t.Error("the failed migration's ALTER TABLE stayed")
	}
	os.WriteFile(p2, []byte("ALTER TABLE users ADD COLUMN email TEXT;\n"), 0o644)
	if applied, err = ApplyMigrations(ctx, db, dir, "", nil); err != nil || len(applied) != 1 {
		t.Fatalf("second apply = %v, %v", applied, err)
	}
	list, err := ListMigrations(ctx, db, dir, "")
	if err != nil || len(list) != 2 || !list[0].Applied || !list[1].Applied {
		t.Errorf("list = %+v, %v", list, err)
	}
	r = mustQuery(t, db, "SELECT name FROM d1_migrations ORDER BY id")
	if len(r.Rows) != 2 || r.Rows[1][0] != "0002_add_email.sql" {
		t.Errorf("d1_migrations = %v", r.Rows)
	}
}

func TestManager(t *testing.T) {
	m := NewManager(t.TempDir(), nil)
	defer m.Close()
	info, err := m.Create("first")
	if err != nil || info.Name != "first" || len(info.UUID) != 36 {
		t.Fatalf("create = %+v, %v", info, err)
	}
	if _, err := m.Create("first"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate create: %v", err)
	}
	if _, err := m.Open("configured-id", "second"); err != nil {
		t.Fatal(err)
	}
	list, err := m.List()
	if err != nil || len(list) != 2 || list[0].Name != "first" || list[1].UUID != "configured-id" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for _, key := range []string{"first", info.UUID, "second", "configured-id"} {
		if _, err := m.Lookup(key); err != nil {
			t.Errorf("lookup %s: %v", key, err)
		}
	}
	if err := m.Delete("first"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lookup("first"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if _, err := m.Open("../x", ""); err == nil {
		t.Error("an id with a path was accepted")
	}
}

// spec 7.7: export does not support virtual tables.
func TestExportVirtualTable(t *testing.T) {
	db := openTest(t)
	mustQuery(t, db, "CREATE VIRTUAL TABLE docs USING fts5(body)")
	if err := db.Export(context.Background(), &bytes.Buffer{}, ExportOptions{}); err != ErrVirtualTable {
		t.Errorf("export with FTS5: %v", err)
	}
}

// A row with the largest BLOB D1 allows survives export and import (its
// INSERT is longer than the 100,000-byte statement limit of queries).
func TestExportImportLargeValue(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	mustQuery(t, src, "CREATE TABLE t (b BLOB)")
	big := bytes.Repeat([]byte{0xab}, 1_999_000)
	mustQuery(t, src, "INSERT INTO t VALUES (?)", big)
	var dump bytes.Buffer
	if err := src.Export(ctx, &dump, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Import(ctx, &dump, nil); err != nil {
		t.Fatal(err)
	}
	r := mustQuery(t, dst, "SELECT b FROM t")
	if !bytes.Equal(r.Rows[0][0].([]byte), big) {
		t.Error("the BLOB changed")
	}
	if _, _, err := dst.Query(ctx, Statement{SQL: "SELECT '" + strings.Repeat("x", 100_001) + "'"}, ""); err == nil {
		t.Error("a query over 100,000 bytes was accepted after an import")
	}
}

// Reopening a database (as a reload does) does not wait for an import that holds the write lock.
func TestReopenDuringImport(t *testing.T) {
	db := openTest(t)
	mustQuery(t, db, "CREATE TABLE t (a)")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := db.Import(context.Background(), pr, nil)
		done <- err
	}()
	pw.Write([]byte("INSERT INTO t VALUES (1);\n")) // the import now holds the write lock
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	db2, err := Open(db.Path(), "", Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("reopen waited %s", time.Since(start))
	}
	r, _, err := db2.Query(context.Background(), Statement{SQL: "SELECT count(*) FROM t"}, "")
	if err != nil || r.Rows[0][0] != int64(0) {
		t.Errorf("read during import: %v %v", r.Rows, err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db2.Close()
}
