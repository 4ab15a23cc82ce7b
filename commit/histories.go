package commit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Histories is the history store of a state directory: one History per
// database, under root/<name>. Databases name themselves ("d1/<id>",
// "objects/<class>/<id>", "kv/<namespace>"); a Log that keeps records
// (Local with SetHistories) and the owners that read them (time travel,
// bookmarks) share one Histories.
type Histories struct {
	root string
	opts func(name string) HistoryOptions

	mu      sync.Mutex
	open    map[string]*History
	writers map[string]*sync.Mutex // see Recorder
	closed  bool
}

// NewHistories returns the store under root. opts, if set, gives each
// database's options (its retention).
func NewHistories(root string, opts func(name string) HistoryOptions) *Histories {
	if opts == nil {
		opts = func(string) HistoryOptions { return HistoryOptions{} }
	}
	return &Histories{root: root, opts: opts, open: map[string]*History{}}
}

// SetOptions makes opts give each database's options from now on: the
// histories already open take their new retention at once (their next
// compaction keeps that window), the others when opened. A server calls it
// when a new config (a reload, a deploy) sets other retentions.
func (hs *Histories) SetOptions(opts func(name string) HistoryOptions) {
	if opts == nil {
		opts = func(string) HistoryOptions { return HistoryOptions{} }
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.opts = opts
	for name, h := range hs.open {
		h.setRetention(opts(name).Retention)
	}
}

// setRetention changes the retention window (default 30 days if ≤ 0).
func (h *History) setRetention(d time.Duration) {
	o := HistoryOptions{Retention: d}
	o.defaults()
	h.mu.Lock()
	h.opts.Retention = o.Retention
	h.mu.Unlock()
}

// Root returns the directory of the store.
func (hs *Histories) Root() string { return hs.root }

// ErrBadName is returned for a database name that cannot name a directory
// under the store.
var ErrBadName = errors.New("commit: bad history name")

// Open returns the history of the database name, opening it once.
func (hs *Histories) Open(name string) (*History, error) {
	clean := filepath.ToSlash(filepath.Clean(name))
	if name == "" || clean != name || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "/") || clean == ".." || clean == "." {
		return nil, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.closed {
		return nil, ErrClosed
	}
	if h, ok := hs.open[name]; ok {
		return h, nil
	}
	h, err := OpenHistory(filepath.Join(hs.root, filepath.FromSlash(name)), name, hs.opts(name))
	if err != nil {
		return nil, err
	}
	hs.open[name] = h
	return h, nil
}

// Release closes the open segment file of name's history (its owner closed
// the database), keeping what is known of it.
func (hs *Histories) Release(name string) {
	hs.mu.Lock()
	h := hs.open[name]
	hs.mu.Unlock()
	if h != nil {
		h.Close()
	}
}

// Remove deletes name's history (its database was deleted).
func (hs *Histories) Remove(name string) error {
	hs.mu.Lock()
	h := hs.open[name]
	delete(hs.open, name)
	hs.mu.Unlock()
	if h != nil {
		h.Close()
	}
	if err := os.RemoveAll(filepath.Join(hs.root, filepath.FromSlash(name))); err != nil {
		return fmt.Errorf("commit: remove history: %w", err)
	}
	return nil
}

// Close closes every history's files.
func (hs *Histories) Close() error {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.closed = true
	var errs []error
	for _, h := range hs.open {
		errs = append(errs, h.Close())
	}
	return errors.Join(errs...)
}
