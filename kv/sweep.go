package kv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// maxSweepSteps bounds the batches one background tick deletes; what is
// left waits for the next tick (reads never see it meanwhile).
const maxSweepSteps = 20

// Sweep deletes at most one batch (Options.SweepBatch) of expired entries
// from the file and reports how many it deleted.
func (n *Namespace) Sweep(ctx context.Context) (int, error) {
	if err := n.check(); err != nil {
		return 0, err
	}
	var deleted int64
	err := n.commit(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"DELETE FROM entries WHERE key IN (SELECT key FROM entries WHERE expiration IS NOT NULL AND expiration <= ? LIMIT ?)",
			n.now(), n.opts.SweepBatch)
		if err != nil {
			return err
		}
		deleted, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("kv sweep: %w", err)
	}
	return int(deleted), nil
}

// sweepLoop purges expired entries every SweepInterval until Close.
func (n *Namespace) sweepLoop() {
	defer close(n.done)
	tick := time.NewTicker(n.opts.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
		for range maxSweepSteps {
			select {
			case <-n.stop:
				return
			default:
			}
			deleted, err := n.Sweep(context.Background())
			if err != nil {
				if !errors.Is(err, ErrClosed) {
					n.log.Warn("expiration sweep failed", "error", err)
				}
				break
			}
			if deleted < n.opts.SweepBatch {
				break
			}
		}
	}
}
