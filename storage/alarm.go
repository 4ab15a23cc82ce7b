package storage

import (
	"database/sql/driver"
	"strings"
)

// The alarm of a Durable Object lives in its own database, in the hidden table
// _cf_METADATA (as in workerd), so it is written in the same implicit transaction as the
// event's other writes, and rolled back with them.

const (
	metaCreate  = "CREATE TABLE IF NOT EXISTS _cf_METADATA (key TEXT PRIMARY KEY, value) WITHOUT ROWID"
	alarmGet    = "SELECT value FROM _cf_METADATA WHERE key = 'alarm'"
	alarmSet    = "INSERT OR REPLACE INTO _cf_METADATA (key, value) VALUES ('alarm', ?)"
	alarmDelete = "DELETE FROM _cf_METADATA WHERE key = 'alarm'"
	noMetaTable = "no such table: _cf_METADATA"
)

// Alarm returns the object's alarm time in milliseconds since the epoch, and whether one
// is set.
func (db *DB) Alarm() (int64, bool, error) {
	if err := db.usable(); err != nil {
		return 0, false, err
	}
	if ok, err := db.openFile(false); !ok || err != nil {
		return 0, false, err
	}
	if err := db.begin(); err != nil {
		return 0, false, err
	}
	var ms int64
	found := false
	err := db.queryInternal(alarmGet, nil, func(row []driver.Value) { ms, found = row[0].(int64) })
	if err != nil && strings.Contains(err.Error(), noMetaTable) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, db.fail(err)
	}
	return ms, found, nil
}

// SetAlarm sets the object's alarm to ms (milliseconds since the epoch), replacing any.
func (db *DB) SetAlarm(ms int64) error {
	return db.metaWrite(alarmSet, ms)
}

// DeleteAlarm unsets the object's alarm.
func (db *DB) DeleteAlarm() error {
	if ok, err := db.openFile(false); !ok || err != nil {
		return err // no file, no alarm
	}
	return db.metaWrite(alarmDelete)
}

// metaWrite runs one of this file's statements on _cf_METADATA, creating the file and the
// table as needed.
func (db *DB) metaWrite(query string, args ...driver.Value) error {
	if err := db.usable(); err != nil {
		return err
	}
	if _, err := db.openFile(true); err != nil {
		return err
	}
	if err := db.begin(); err != nil {
		return err
	}
	db.wrote = true
	if _, err := db.execInternal(metaCreate); err != nil {
		return db.fail(err)
	}
	if _, err := db.execInternal(query, args...); err != nil {
		return db.fail(err)
	}
	return nil
}
