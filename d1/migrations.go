package d1

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Migrations follow wrangler's layout: a directory of NNNN_message.sql
// files applied in name order, each recorded in a table (d1_migrations by
// default) once applied. Each migration applies atomically: a failing one
// leaves the database as it was before it, and stops the run.

// DefaultMigrationsTable is wrangler's table of applied migrations.
const DefaultMigrationsTable = "d1_migrations"

// Migration is one file of a migrations directory.
type Migration struct {
	Name    string // file name, e.g. 0001_create_users.sql
	Applied bool
}

var migrationFile = regexp.MustCompile(`^(\d+)_.*\.sql$`)

func migrationsTableSQL(table string) string {
	return `CREATE TABLE IF NOT EXISTS ` + quoteIdent(table) + `(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
	)`
}

// migrationFiles lists the .sql files of dir in order.
func migrationFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("d1 migrations: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// ListMigrations returns the migrations in dir, marking those recorded in
// table as applied.
func ListMigrations(ctx context.Context, db *DB, dir, table string) ([]Migration, error) {
	table = cmpOr(table, DefaultMigrationsTable)
	files, err := migrationFiles(dir)
	if err != nil {
		return nil, err
	}
	applied := map[string]bool{}
	c, err := db.reader()
	if err != nil {
		return nil, err
	}
	defer db.release(c)
	exists, err := c.queryInt(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table)
	if err != nil {
		return nil, sqlError(err)
	}
	if exists > 0 {
		err = c.query(`SELECT name FROM `+quoteIdent(table), nil, func(r []driver.Value) error {
			if s, ok := r[0].(string); ok {
				applied[s] = true
			}
			return nil
		})
		if err != nil {
			return nil, sqlError(err)
		}
	}
	out := make([]Migration, len(files))
	for i, f := range files {
		out[i] = Migration{Name: f, Applied: applied[f]}
	}
	return out, nil
}

// MigrationError is returned by ApplyMigrations when a migration fails; the
// migrations before it stay applied, it and those after it are not.
type MigrationError struct {
	Name string
	Err  error
}

func (e *MigrationError) Error() string { return fmt.Sprintf("migration %s failed: %v", e.Name, e.Err) }

// Unwrap returns the underlying error.
func (e *MigrationError) Unwrap() error { return e.Err }

// ApplyMigrations applies, in order, every migration of dir not yet
// recorded in table, each in its own transaction together with its record.
// done is called after each one. It returns the names applied.
func ApplyMigrations(ctx context.Context, db *DB, dir, table string, done func(name string)) ([]string, error) {
	table = cmpOr(table, DefaultMigrationsTable)
	if _, _, err := db.Exec(ctx, strings.ReplaceAll(migrationsTableSQL(table), "\n", " ")); err != nil {
		return nil, err
	}
	list, err := ListMigrations(ctx, db, dir, table)
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range list {
		if m.Applied {
			continue
		}
		f, err := os.Open(filepath.Join(dir, m.Name))
		if err != nil {
			return applied, &MigrationError{Name: m.Name, Err: err}
		}
		_, err = db.importTx(ctx, f, nil, func(c *conn) error {
			return c.exec(`INSERT INTO `+quoteIdent(table)+` (name) VALUES (?)`, m.Name)
		})
		f.Close()
		if err != nil {
			return applied, &MigrationError{Name: m.Name, Err: err}
		}
		applied = append(applied, m.Name)
		if done != nil {
			done(m.Name)
		}
	}
	return applied, nil
}

// CreateMigration writes the next migration file of dir (creating dir),
// numbered after the highest existing one, and returns its path.
func CreateMigration(dir, message string) (string, error) {
	files, err := migrationFiles(dir)
	if err != nil {
		return "", err
	}
	next := 1
	for _, f := range files {
		if m := migrationFile.FindStringSubmatch(f); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n >= next {
				next = n + 1
			}
		}
	}
	slug := strings.Trim(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(strings.ToLower(message), "_"), "_")
	if slug == "" {
		return "", errors.New("d1 migrations: the migration needs a message (letters or digits)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("d1 migrations: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%04d_%s.sql", next, slug))
	body := fmt.Sprintf("-- Migration number: %04d \t %s\n", next, time.Now().UTC().Format(time.RFC3339))
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		return "", fmt.Errorf("d1 migrations: %w", err)
	}
	return path, nil
}
