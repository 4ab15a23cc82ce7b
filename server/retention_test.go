package server

import (
	"testing"
	"time"

	"github.com/cairn-dev/cairn/config"
)

// The history_retention keys of a config name the histories of a D1
// database, a KV namespace and a class's objects; every other history
// (other databases, the alarm index) keeps the default.
func TestRetentionsOf(t *testing.T) {
	cfg := &config.Config{
		D1Databases: []config.D1Database{
			{Binding: "DB", DatabaseID: "db-id", HistoryRetention: 7 * 24 * time.Hour},
			{Binding: "OTHER", DatabaseID: "other-id"},
		},
		KVNamespaces: []config.KVNamespace{
			{Binding: "KV", ID: "kv-id", HistoryRetention: 36 * time.Hour},
			{Binding: "NOID", HistoryRetention: time.Hour},
		},
		DurableObjects: []config.DurableObjectBinding{
			{Name: "C", ClassName: "Counter", HistoryRetention: 90 * 24 * time.Hour},
			{Name: "F", ClassName: "Far", ScriptName: "other", HistoryRetention: time.Minute},
		},
	}
	r := RetentionsOf(cfg, 48*time.Hour)
	for name, want := range map[string]time.Duration{
		"d1/db-id":                   7 * 24 * time.Hour,
		"d1/other-id":                48 * time.Hour,
		"kv/kv-id":                   36 * time.Hour,
		"kv/NOID":                    time.Hour, // a namespace without an id is stored under its binding
		"objects/Counter/0123abcd":   90 * 24 * time.Hour,
		"objects/Counterfeit/0123ab": 48 * time.Hour,
		"objects/Far/0123abcd":       48 * time.Hour, // another Worker's class: its config decides
		"alarms":                     48 * time.Hour,
	} {
		if got := r.For(name); got != want {
			t.Errorf("For(%q) = %v, want %v", name, got, want)
		}
	}
	if got := RetentionsOf(nil, 0).For("d1/x"); got != DefaultHistoryRetention {
		t.Errorf("default: %v", got)
	}
	// The account's store takes the retentions of each Worker binding its
	// databases.
	m := RetentionsOf(nil, 0).merge(r)
	if got := m.For("d1/db-id"); got != 7*24*time.Hour {
		t.Errorf("merged: %v", got)
	}
	if got := m.For("d1/other-id"); got != DefaultHistoryRetention {
		t.Errorf("merged default: %v", got)
	}
}
