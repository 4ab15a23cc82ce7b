package commit

import "fmt"

// SetHistories makes l keep the records handed to Record in hs: each is
// appended to its database's history, and a Submit of the database's file
// is done only once the records appended before it are durable too. The
// file and its history are synced in parallel, so after a crash either may
// be ahead: the database's owner calls History.Reconcile before opening
// it. Call it before the first Record. Without it, Record does nothing:
// the history is off.
func (l *Local) SetHistories(hs *Histories) { l.histories = hs }

// Histories returns the store set by SetHistories, or nil.
func (l *Local) Histories() *Histories { return l.histories }

// Record appends rec to its database's history (see SetHistories) without
// syncing it; the next round that syncs f syncs the history with it.
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

// syncRound syncs each distinct file of batch (syncAll) and, at the same
// time, the histories their records went to: one round waits for the
// slower of the two fsyncs, not for their sum. A file's history failing to
// sync fails the file's commits. The two are not ordered, so a crash may
// leave either ahead of the other: the owners reconcile them when they
// next open the database (History.Reconcile).
func (l *Local) syncRound(batch []request) (errs map[Syncer]error, fsSync bool) {
	l.mu.Lock()
	var hist []request
	owner := map[Syncer][]Syncer{}
	for _, r := range batch {
		h := l.recorded[r.f]
		if h == nil {
			continue
		}
		if _, seen := owner[h]; !seen {
			hist = append(hist, request{f: h})
		}
		owner[h] = append(owner[h], r.f)
	}
	l.mu.Unlock()
	if len(hist) == 0 {
		return l.syncAll(batch)
	}
	var synced map[Syncer]error
	done := make(chan struct{})
	go func() {
		defer close(done)
		synced, _ = l.syncAll(hist)
	}()
	errs, fsSync = l.syncAll(batch)
	<-done
	for h, err := range synced {
		if err == nil {
			continue
		}
		for _, f := range owner[h] {
			if errs[f] == nil {
				errs[f] = err
			}
		}
	}
	return errs, fsSync
}
