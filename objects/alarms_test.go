package objects

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// alarmClass is a Go guest whose objects record when their alarm ran and
// fail the first failFirst runs.
type alarmClass struct {
	mu        sync.Mutex
	ran       map[ID][]int // retry counts seen
	late      []time.Duration
	failFirst int
	fired     atomic.Int64
}

func (c *alarmClass) NewInstance(o *Object) (Instance, error) { return &alarmInstance{c: c, o: o}, nil }

type alarmInstance struct {
	c *alarmClass
	o *Object
}

func (i *alarmInstance) Fetch(context.Context, *http.Request) (*http.Response, error) {
	return nil, nil
}
func (i *alarmInstance) Close() {}

func (i *alarmInstance) Alarm(sched int64, retry int, done func(AlarmResult)) {
	late := time.Since(time.UnixMilli(sched))
	i.c.mu.Lock()
	i.c.ran[i.o.ID] = append(i.c.ran[i.o.ID], retry)
	n := len(i.c.ran[i.o.ID])
	i.c.late = append(i.c.late, late)
	i.c.mu.Unlock()
	i.c.fired.Add(1)
	done(AlarmResult{Failed: n <= i.c.failFirst})
}

func alarmHost(t testing.TB, cls *alarmClass, retryBase time.Duration) (*Host, *Namespace) {
	dir := t.TempDir()
	catalog, err := OpenCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(catalog, nil)
	h.Register("Clock", cls)
	if err := h.EnableAlarms(filepath.Join(dir, "alarms.sqlite"), retryBase); err != nil {
		t.Fatal(err)
	}
	ns, _ := h.Namespace("Clock")
	return h, ns
}

// A failing alarm is retried with growing retry counts, at most 6 times.
func TestAlarmRetryLimit(t *testing.T) {
	cls := &alarmClass{ran: map[ID][]int{}, failFirst: 100}
	h, ns := alarmHost(t, cls, time.Millisecond)
	defer h.Close()
	id := ns.IDFromName("x")
	if err := h.SetAlarm("Clock", id, "x", time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for cls.fired.Load() < 7 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // would a further retry come?
	cls.mu.Lock()
	defer cls.mu.Unlock()
	if got := cls.ran[id]; !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6}) {
		t.Fatalf("retry counts %v, want 0..6 and then no more", got)
	}
}

// BenchmarkAlarmLateness fires 10,000 alarms due in the same second and
// reports how late they ran (p50, p99) — with objects that answer at once,
// so it measures the scheduler, not the handlers:
//
//	go test ./objects -run '^$' -bench AlarmLateness -benchtime 1x
func BenchmarkAlarmLateness(b *testing.B) {
	for range b.N {
		cls := &alarmClass{ran: map[ID][]int{}}
		h, ns := alarmHost(b, cls, time.Second)
		due := time.Now().Add(8 * time.Second).Truncate(time.Second)
		const n = 10000
		for i := range n {
			id := ns.IDFromName(string(rune('a'+i%26)) + string(rune(i)))
			at := due.Add(time.Duration(i%1000) * time.Millisecond)
			if err := h.SetAlarm("Clock", id, "", at.UnixMilli()); err != nil {
				b.Fatal(err)
			}
		}
		for cls.fired.Load() < n {
			time.Sleep(10 * time.Millisecond)
		}
		h.Close()
		slices.Sort(cls.late)
		b.ReportMetric(float64(cls.late[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(cls.late[n*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(cls.late[n-1].Microseconds())/1000, "max-ms")
	}
}

// The alarm index runs its own checkpoints, as every database of cairn's
// (no automatic checkpoint, whose fsync errors SQLite would ignore): its
// WAL is folded into the file once past commit.CheckpointBytes, and
// SetAlarm's writes are made durable through the Host's commit log.
func TestAlarmIndexOwnsCheckpoints(t *testing.T) {
	cls := &alarmClass{ran: map[ID][]int{}}
	h, ns := alarmHost(t, cls, time.Second)
	defer h.Close()
	s := h.alarmScheduler()
	var auto int64
	if err := s.db.QueryRow("PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	far := time.Now().Add(time.Hour).UnixMilli()
	big := strings.Repeat("n", 3000) // rows of a few KiB: the WAL grows fast
	maxWAL := int64(0)
	for i := range 2500 {
		id := ns.IDFromName(fmt.Sprint("o", i))
		if err := h.SetAlarm("Clock", id, big, far+int64(i)); err != nil {
			t.Fatal(err)
		}
		if info, err := os.Stat(s.path + "-wal"); err == nil {
			maxWAL = max(maxWAL, info.Size())
		}
	}
	if maxWAL >= 2*commit.CheckpointBytes {
		t.Fatalf("the WAL grew to %d bytes: not checkpointed", maxWAL)
	}
	if st := h.commitLogLocked().(*commit.Local).Stats(); st.Submits < 2500 {
		t.Fatalf("%d submits to the commit log for 2500 SetAlarm", st.Submits)
	}
}
