package objects

import (
	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/storage"
)

// SetHistories makes the objects keep their history in hs (one History per
// object, "objects/<class>/<id>"), their commits recorded through the
// Host's commit log (SetCommitLog), which must keep records in the same
// store. Call it before the first event. Without it objects keep none, and
// the bookmark API of their storage fails with storage.ErrNoHistory.
func (h *Host) SetHistories(hs *commit.Histories) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.histories = hs
}

// storageOptions returns the options of the storage of object id of class.
// h.mu is held.
func (h *Host) storageOptionsLocked(class string, id ID) storage.Options {
	opts := storage.Options{Logger: h.log, Scratch: h.scratch}
	if h.histories != nil {
		hist, err := h.histories.Open("objects/" + class + "/" + id.String())
		if err != nil {
			h.log.Error("objects: history unavailable; the object keeps none", "class", class, "id", id.String(), "err", err)
			return opts
		}
		opts.History, opts.Log = hist, h.commitLogLocked()
	}
	return opts
}
