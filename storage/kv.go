package storage

import (
	"database/sql/driver"
	"slices"
	"strings"
)

// The KV API lives in the hidden table _cf_KV, created on the first KV write. Keys are
// ordered by their UTF-8 bytes (SQLite's BINARY collation is memcmp).
const (
	kvCreate = "CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID"
	kvExists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_cf_KV'"
	kvGet    = "SELECT value FROM _cf_KV WHERE key = ?"
	kvPut    = "INSERT INTO _cf_KV (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value"
	kvDelete = "DELETE FROM _cf_KV WHERE key = ?"
)

// KV is one key and its value.
type KV struct {
	Key   string
	Value []byte
}

// ListOptions select a range of keys, as ctx.storage.list() does. A nil bound is absent
// (an empty string is a real bound: StartAfter "" skips the key ""). Start and StartAfter
// must not both be set, and a Limit < 0 is an error: both are checked by the JS layer
// (ValidateList gives the messages).
type ListOptions struct {
	Start      *string // smallest key included
	StartAfter *string // keys greater than this
	End        *string // keys less than this
	Prefix     string  // keys beginning with this
	Reverse    bool    // descending order; Start/End keep their meaning
	Limit      int     // at most this many keys; 0 means no limit
}

// ValidateList returns the TypeError message workerd gives for options that cannot be
// combined, or "" if they are fine. hasLimit says the caller passed a limit at all.
func ValidateList(opts ListOptions, hasLimit bool) string {
	if opts.Start != nil && opts.StartAfter != nil {
		return "list() cannot be called with both start and startAfter values."
	}
	if hasLimit && opts.Limit <= 0 {
		return "List limit must be positive."
	}
	return ""
}

// Get returns the value stored under key.
func (db *DB) Get(key string) ([]byte, bool, error) {
	var v []byte
	found := false
	err := db.kvRead(func() error {
		return db.queryInternal(kvGet, []driver.Value{key}, func(r []driver.Value) {
			v, found = asBytes(r[0]), true
		})
	})
	return v, found, err
}

// GetMany returns the entries of the keys that exist, sorted by key.
func (db *DB) GetMany(keys []string) ([]KV, error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var out []KV
	err := db.kvRead(func() error {
		for _, k := range keys {
			err := db.queryInternal(kvGet, []driver.Value{k}, func(r []driver.Value) {
				out = append(out, KV{k, asBytes(r[0])})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// List returns the entries selected by opts.
func (db *DB) List(opts ListOptions) ([]KV, error) {
	query, args := listQuery(opts)
	var out []KV
	err := db.kvRead(func() error {
		return db.queryInternal(query, args, func(r []driver.Value) {
			out = append(out, KV{r[0].(string), asBytes(r[1])})
		})
	})
	return out, err
}

// Put stores value under key.
func (db *DB) Put(key string, value []byte) error {
	return db.kvWrite(false, func() error { return db.put(key, value) })
}

// PutMany stores all entries, atomically.
func (db *DB) PutMany(entries []KV) error {
	return db.kvWrite(len(entries) > 1, func() error {
		for _, e := range entries {
			if err := db.put(e.Key, e.Value); err != nil {
				return err
			}
		}
		return nil
	})
}

// Delete removes key and reports whether it existed.
func (db *DB) Delete(key string) (bool, error) {
	n, err := db.DeleteMany([]string{key})
	return n > 0, err
}

// DeleteMany removes keys, atomically, and returns how many existed.
func (db *DB) DeleteMany(keys []string) (int, error) {
	var n int64
	err := db.kvDeleting(len(keys) > 1, func() error {
		for _, k := range keys {
			c, err := db.execInternal(kvDelete, k)
			if err != nil {
				return err
			}
			n += c
		}
		return nil
	})
	if err == nil && n > 0 {
		db.wrote = true // the commit must be synced and hold the output gate
	}
	return int(n), err
}

func (db *DB) put(key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	_, err := db.execInternal(kvPut, key, value)
	return err
}

// kvRead runs fn if _cf_KV exists; without a file or table there is nothing to read.
func (db *DB) kvRead(fn func() error) error {
	if err := db.usable(); err != nil {
		return err
	}
	if ok, err := db.kvTable(false); !ok || err != nil {
		return err
	}
	return db.fail(fn())
}

// kvDeleting is kvRead for deletions: deleting from an absent table is a no-op, not a
// reason to create the file.
func (db *DB) kvDeleting(atomic bool, fn func() error) error {
	if err := db.usable(); err != nil {
		return err
	}
	if ok, err := db.kvTable(false); !ok || err != nil {
		return err
	}
	return db.fail(db.atomically(atomic, fn))
}

// kvWrite runs fn after creating the file and _cf_KV as needed.
func (db *DB) kvWrite(atomic bool, fn func() error) error {
	if err := db.usable(); err != nil {
		return err
	}
	if _, err := db.kvTable(true); err != nil {
		return err
	}
	return db.fail(db.atomically(atomic, fn))
}

// kvTable opens the file (creating it and the table if create is set), begins the
// implicit transaction and reports whether _cf_KV exists.
func (db *DB) kvTable(create bool) (bool, error) {
	if ok, err := db.openFile(create); !ok || err != nil {
		return false, err
	}
	if err := db.begin(); err != nil {
		return false, err
	}
	if create {
		db.wrote = true
	}
	if db.kv == kvUnknown {
		db.kv = kvAbsent
		if err := db.queryInternal(kvExists, nil, func([]driver.Value) { db.kv = kvPresent }); err != nil {
			db.kv = kvUnknown
			return false, db.fail(err)
		}
	}
	if db.kv == kvAbsent && create {
		if _, err := db.execInternal(kvCreate); err != nil {
			return false, db.fail(err)
		}
		db.kv = kvPresent
	}
	return db.kv == kvPresent, nil
}

// atomically runs fn inside a savepoint when atomic is set, so a multi-key operation that
// fails half-way leaves nothing behind in the implicit transaction.
func (db *DB) atomically(atomic bool, fn func() error) error {
	if !atomic {
		return fn()
	}
	if _, err := db.execInternal("SAVEPOINT _cf_many"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		_, rerr := db.execInternal("ROLLBACK TO _cf_many")
		if rerr == nil {
			_, rerr = db.execInternal("RELEASE _cf_many")
		}
		if rerr != nil {
			db.log.Error("storage: rolling back a multi-key operation", "path", db.path, "err", rerr)
		}
		return err
	}
	_, err := db.execInternal("RELEASE _cf_many")
	return err
}

// listQuery builds the SELECT for opts. Statements are cached by their text, and there are
// few shapes.
func listQuery(opts ListOptions) (string, []driver.Value) {
	var where []string
	var args []driver.Value
	bound := func(cond string, v string) {
		where = append(where, cond)
		args = append(args, v)
	}
	if opts.Start != nil {
		bound("key >= ?", *opts.Start)
	}
	if opts.StartAfter != nil {
		bound("key > ?", *opts.StartAfter)
	}
	if opts.End != nil {
		bound("key < ?", *opts.End)
	}
	if opts.Prefix != "" {
		bound("key >= ?", opts.Prefix)
		if end, ok := prefixEnd(opts.Prefix); ok {
			bound("key < ?", end)
		}
	}
	var b strings.Builder
	b.WriteString("SELECT key, value FROM _cf_KV")
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	if opts.Reverse {
		b.WriteString(" ORDER BY key DESC")
	} else {
		b.WriteString(" ORDER BY key")
	}
	if opts.Limit > 0 {
		b.WriteString(" LIMIT ?")
		args = append(args, int64(opts.Limit))
	}
	return b.String(), args
}

// prefixEnd returns the smallest string greater than every string beginning with p, by
// bytes; false if there is none (p is all 0xff bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

func asBytes(v driver.Value) []byte {
	switch v := v.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	return nil
}
