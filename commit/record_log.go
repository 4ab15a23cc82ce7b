package commit

import "fmt"

// SetHistories makes l keep the records handed to Record in hs: each is
// appended to its database's history, and a Submit of the database's file
// is done only once the records appended before it are durable too (the
// file first, then the history, so a durable record never describes a
// commit its database lost). Call it before the first Record. Without it,
// Record does nothing: the history is off.
func (l *Local) SetHistories(hs *Histories) { l.histories = hs }

// Histories returns the store set by SetHistories, or nil.
func (l *Local) Histories() *Histories { return l.histories }

// Record appends rec to its database's history (see SetHistories) without
// syncing it; the next round that syncs f syncs the history after it.
func (l *Local) Record(f Syncer, rec *Record) error {
	if l.histories == nil {
		return nil
	}
	h, err := l.histories.Open(rec.DB)
	if err != nil {
		return fmt.Errorf("commit: record: %w", err)
	}
	if err := h.Append(rec); err != nil {
		return err
	}
	l.mu.Lock()
	if l.recorded == nil {
		l.recorded = map[Syncer]*History{}
	}
	l.recorded[f] = h
	l.mu.Unlock()
	return nil
}

// syncHistories syncs the history of each file of batch whose sync
// succeeded, after it, and reports a failure as the file's.
func (l *Local) syncHistories(errs map[Syncer]error) {
	l.mu.Lock()
	if len(l.recorded) == 0 {
		l.mu.Unlock()
		return
	}
	var hist []request
	owner := map[Syncer][]Syncer{}
	for f, err := range errs {
		h := l.recorded[f]
		if err != nil || h == nil {
			continue
		}
		if _, seen := owner[h]; !seen {
			hist = append(hist, request{f: h})
		}
		owner[h] = append(owner[h], f)
	}
	l.mu.Unlock()
	if len(hist) == 0 {
		return
	}
	synced, _ := l.syncAll(hist)
	for h, err := range synced {
		if err != nil {
			for _, f := range owner[h] {
				errs[f] = err
			}
		}
	}
}
