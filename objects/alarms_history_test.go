package objects

import (
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// historyAlarmHost is alarmHost with the Host's commit log keeping
// records in hs, as the server sets it up.
func historyAlarmHost(t *testing.T, dir string, hs *commit.Histories) (*Host, *Namespace, *commit.Local) {
	t.Helper()
	catalog, err := OpenCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := commit.NewLocal(0)
	log.SetHistories(hs)
	h := NewHost(catalog, nil)
	h.SetCommitLog(log)
	h.SetHistories(hs)
	h.Register("Clock", &alarmClass{ran: map[ID][]int{}})
	if err := h.EnableAlarms(filepath.Join(dir, "alarms.sqlite"), time.Second); err != nil {
		t.Fatal(err)
	}
	ns, _ := h.Namespace("Clock")
	return h, ns, log
}

// alarmRows reads the index file at path (a built past state).
func alarmRows(t *testing.T, path string) map[string]int64 {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, time FROM alarms")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var ms int64
		if err := rows.Scan(&id, &ms); err != nil {
			t.Fatal(err)
		}
		out[id] = ms
	}
	return out
}

// The alarm index's writes are records of its history ("alarms"), like
// those of objects, D1 and KV: each state of the index, across its own
// checkpoints and a restart, is rebuilt from them.
func TestAlarmIndexRecords(t *testing.T) {
	dir := t.TempDir()
	hs := commit.NewHistories(filepath.Join(dir, "history"), nil)
	defer hs.Close()
	far := time.Now().Add(time.Hour).UnixMilli()
	big := strings.Repeat("n", 3000) // rows of a few KiB: the WAL passes a checkpoint
	model := map[string]int64{}
	states := map[uint64]map[string]int64{}
	writes := 0 // writes that changed the index (a delete of no alarm does not)
	var walSize int64
	restarts := 0
	for round := range 2 {
		h, ns, log := historyAlarmHost(t, dir, hs)
		walSize = 0
		hist, err := hs.Open(AlarmsHistoryName)
		if err != nil {
			t.Fatal(err)
		}
		if round == 1 && hist.Last().Kind != commit.KindCommit {
			t.Fatalf("reopened after a clean close: last record %v, want the last commit", hist.Last().Kind)
		}
		for i := range 600 {
			id := ns.IDFromName(fmt.Sprint("o", i%450))
			if i%7 == 3 {
				h.DeleteAlarm("Clock", id)
				if _, ok := model[id.String()]; ok {
					writes++
				}
				delete(model, id.String())
			} else {
				ms := far + int64(round*1000+i)
				if err := h.SetAlarm("Clock", id, big, ms); err != nil {
					t.Fatal(err)
				}
				model[id.String()] = ms
				writes++
			}
			states[hist.Last().Seq] = maps.Clone(model)
			if n, _ := (commit.WAL{Path: filepath.Join(dir, "alarms.sqlite")}).Size(); n < walSize {
				restarts++ // checkpointed, and the WAL started again
			}
			walSize, _ = (commit.WAL{Path: filepath.Join(dir, "alarms.sqlite")}).Size()
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		log.Close()
	}
	hist, _ := hs.Open(AlarmsHistoryName)
	if restarts == 0 {
		t.Fatal("the index was never checkpointed: the test covers no WAL restart")
	}
	if len(states) != writes {
		t.Fatalf("%d recorded states for %d writes", len(states), writes)
	}
	n := 0
	for seq, want := range states {
		if seq%97 != 0 && seq != hist.Last().Seq {
			continue
		}
		dst := filepath.Join(t.TempDir(), "alarms.sqlite")
		if err := hist.Build(seq, dst); err != nil {
			t.Fatal(err)
		}
		if got := alarmRows(t, dst); !maps.Equal(got, want) {
			t.Fatalf("index after record %d: %d alarms, want %d", seq, len(got), len(want))
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d states checked", n)
	}
}

// SetAlarm's write to the index is acknowledged through the Host's commit
// log, so a backup's acknowledgement pause (the server's ackGate, which it
// passes to SetCommitLog) holds it back like every other commit.
func TestAlarmIndexWaitsForTheHostsLog(t *testing.T) {
	dir := t.TempDir()
	catalog, err := OpenCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := &pausedLog{Local: commit.NewLocal(0), release: make(chan struct{})}
	defer log.Local.Close()
	h := NewHost(catalog, nil)
	h.SetCommitLog(log)
	h.Register("Clock", &alarmClass{ran: map[ID][]int{}})
	if err := h.EnableAlarms(filepath.Join(dir, "alarms.sqlite"), time.Second); err != nil {
		t.Fatal(err)
	}
	ns, _ := h.Namespace("Clock")
	set := make(chan error, 1)
	go func() {
		set <- h.SetAlarm("Clock", ns.IDFromName("x"), "x", time.Now().Add(time.Hour).UnixMilli())
	}()
	select {
	case err := <-set:
		t.Fatalf("SetAlarm returned (%v) while its log held acknowledgements back", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(log.release)
	if err := <-set; err != nil {
		t.Fatal(err)
	}
	h.Close()
}

// pausedLog holds back every acknowledgement until release is closed.
type pausedLog struct {
	*commit.Local
	release chan struct{}
}

func (l *pausedLog) Submit(f commit.Syncer, done func(error)) {
	l.Local.Submit(f, func(err error) {
		go func() {
			<-l.release
			done(err)
		}()
	})
}
