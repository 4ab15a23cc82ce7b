package server

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/backup"
	"github.com/cairn-dev/cairn/commit"
)

// ackGate is the commit log as an App's storage sees it: it passes every
// commit to the log underneath, and while paused (an online backup copies
// the state directory) it holds back the acknowledgements, releasing them
// in order when the pause ends. No write can then depend on one the copy
// does not hold (see package backup).
type ackGate struct {
	commit.Log

	mu       sync.Mutex
	paused   int      // pauses in progress
	draining bool     // held acknowledgements are being released
	held     []func() // acknowledgements held back, in order
}

// Submit passes f to the log; its acknowledgement waits while the gate is
// paused.
func (g *ackGate) Submit(f commit.Syncer, done func(error)) {
	g.Log.Submit(f, func(err error) {
		g.mu.Lock()
		if g.paused > 0 || g.draining {
			g.held = append(g.held, func() { done(err) })
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		done(err)
	})
}

// Pause holds back acknowledgements until the returned function is called.
func (g *ackGate) Pause() (resume func()) {
	g.mu.Lock()
	g.paused++
	g.mu.Unlock()
	var once sync.Once
	return func() { once.Do(g.resume) }
}

// resume ends one pause; the last one releases what was held, in order,
// on a goroutine of its own (as a Log calls done), and acknowledgements
// arriving meanwhile queue behind them.
func (g *ackGate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.paused--
	if g.paused > 0 || g.draining || len(g.held) == 0 {
		return
	}
	g.draining = true
	go func() {
		for {
			g.mu.Lock()
			batch := g.held
			g.held = nil
			if len(batch) == 0 || g.paused > 0 {
				g.held = batch
				g.draining = false
				g.mu.Unlock()
				return
			}
			g.mu.Unlock()
			for _, done := range batch {
				done()
			}
		}
	}()
}

// Close does not close the log underneath: its owner does.
func (g *ackGate) Close() error { return nil }

// registerBackup serves POST /client/v4/cairn/backup: a backup of the
// served Worker's state directory, streamed as a tar whose last entry is
// the manifest. The files are copied with acknowledgements held back, so
// the backup is a consistent cut (package backup). A backup that fails
// after the response started ends the stream without a manifest.
func (s *Server) registerBackup(api *API) {
	api.HandleRaw("POST /cairn/backup", func(w http.ResponseWriter, r *http.Request) {
		app := s.Current()
		if app == nil {
			WriteAPIError(w, &APIError{Status: http.StatusServiceUnavailable, Code: 7500, Message: "no Worker loaded"})
			return
		}
		serveBackup(w, r, app.dir, app.Config.Name, app.acks, app.log)
	})
}

// serveBackup streams a backup of the state directory dir (manifest name
// name) as a tar, with acks paused for its second pass.
func serveBackup(w http.ResponseWriter, r *http.Request, dir, name string, acks *ackGate, log *slog.Logger) {
	tw := backup.NewTarWriter(w)
	tw.Started = func() {
		w.Header().Set("Content-Type", "application/x-tar")
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.TrimPrefix(name, ".")+`-backup.tar"`)
		w.WriteHeader(http.StatusOK)
	}
	var paused time.Duration // how long acknowledgements were held back
	pause := func() func() {
		resume, start := acks.Pause(), time.Now()
		return func() { paused = time.Since(start); resume() }
	}
	m, err := backup.Snapshot(r.Context(), backup.SnapshotOptions{
		Dir:    dir,
		Worker: name,
		Target: tw,
		Pause:  pause,
		Logger: log,
	})
	if err != nil {
		log.Error("backup failed", "error", err)
		if tw.Began() {
			panic(http.ErrAbortHandler) // the client sees a stream cut short, without a manifest
		}
		WriteAPIError(w, err)
		return
	}
	if err := tw.Close(); err != nil {
		log.Error("backup: end of stream", "error", err)
		return
	}
	log.Info("backup sent", "files", len(m.Files), "bytes", m.Bytes(), "consistency", m.Consistency, "paused", paused)
}
