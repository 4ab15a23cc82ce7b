package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cairn-dev/cairn/config"

	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/jsrt"
)

// d1Binding adapts a *d1.DB to the jsrt.D1Database a Worker binding calls.
type d1Binding struct{ db *d1.DB }

func (b d1Binding) Batch(ctx context.Context, stmts []jsrt.D1Statement, session string) ([]jsrt.D1Result, string, error) {
	in := make([]d1.Statement, len(stmts))
	for i, s := range stmts {
		in[i] = d1.Statement{SQL: s.SQL, Params: s.Params}
	}
	res, bookmark, err := b.db.Batch(ctx, in, session)
	if err != nil {
		return nil, "", d1BindingError(err)
	}
	out := make([]jsrt.D1Result, len(res))
	for i, r := range res {
		m := r.Meta
		out[i] = jsrt.D1Result{Columns: r.Columns, Rows: r.Rows, Meta: jsrt.D1Meta{
			Duration: m.Duration, Changes: m.Changes, LastRowID: m.LastRowID, ChangedDB: m.ChangedDB,
			SizeAfter: m.SizeAfter, RowsRead: m.RowsRead, RowsWritten: m.RowsWritten,
		}}
	}
	return out, bookmark, nil
}

func (b d1Binding) Exec(ctx context.Context, sql string) (int, float64, error) {
	n, d, err := b.db.Exec(ctx, sql)
	return n, d, d1BindingError(err)
}

func (b d1Binding) Dump(context.Context) ([]byte, error) {
	buf, err := b.db.Serialize()
	return buf, d1BindingError(err)
}

// d1BindingError gives errors that are not D1's own (a database closed by
// a reload, a file system error) the D1_ERROR prefix every binding error
// has.
func d1BindingError(err error) error {
	if err == nil {
		return nil
	}
	var de *d1.Error
	var ee *d1.ExecError
	if errors.As(err, &de) || errors.As(err, &ee) {
		return err
	}
	return fmt.Errorf("%s: %w", d1.KindError, err)
}

// D1Dir is where the D1 databases of the Worker named worker live under a
// state directory.
func D1Dir(persist, worker string) string { return filepath.Join(persist, worker, "d1") }

// D1ID is the file id of a configured database: its database_id, else its
// database_name, else its binding name.
func D1ID(b config.D1Database) string {
	switch {
	case b.DatabaseID != "":
		return b.DatabaseID
	case b.DatabaseName != "":
		return b.DatabaseName
	}
	return b.Binding
}

// openD1 opens the configured databases and returns their bindings.
func openD1(m *d1.Manager, dbs []config.D1Database) (map[string]jsrt.D1Database, error) {
	out := make(map[string]jsrt.D1Database, len(dbs))
	for _, b := range dbs {
		db, err := m.Open(D1ID(b), b.DatabaseName)
		if err != nil {
			return nil, fmt.Errorf("d1_databases binding %s: %w", b.Binding, err)
		}
		out[b.Binding] = d1Binding{db}
	}
	return out, nil
}
