package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/bench/load"
)

// report is everything one run measured; it is written as JSON as is.
type report struct {
	Date    string                  `json:"date"` // YYYY-MM-DD
	Started time.Time               `json:"started"`
	Elapsed string                  `json:"elapsed"`
	Machine machine                 `json:"machine"`
	Options options                 `json:"options"`
	Runtime map[string]*runtimeInfo `json:"runtimes"`
	Cells   []cell                  `json:"results"`
	Notes   []string                `json:"notes"`
}

type machine struct {
	Host    string `json:"host"`
	CPUs    int    `json:"nproc"`
	CPU     string `json:"cpu_model"`
	Kernel  string `json:"kernel"`
	Go      string `json:"go"`
	MemInfo string `json:"mem_total"`
}

type options struct {
	Duration string `json:"duration"`
	Warmup   string `json:"warmup"`
	Conns    []int  `json:"conns"`
	Pinned   bool   `json:"pinned"`
}

type runtimeInfo struct {
	Version       string `json:"version"`
	Process       string `json:"process,omitempty"` // executable whose RSS is reported
	RSSAfter10kKB int64  `json:"rss_after_sql_10k_kb,omitempty"`
	Durability    string `json:"durability"`
	Error         string `json:"error,omitempty"` // why it did not run
}

// cell is one runtime on one scenario at one connection count.
type cell struct {
	Scenario string       `json:"scenario"`
	Conns    int          `json:"conns"`
	Runtime  string       `json:"runtime"`
	Status   string       `json:"status"` // ok, n/a, skipped
	Note     string       `json:"note,omitempty"`
	Result   *load.Result `json:"result,omitempty"`
	// CPUPerReq is the server's CPU time (user + system) per request, in
	// microseconds, over the run and its warmup.
	CPUPerReq float64 `json:"cpu_us_per_req,omitempty"`
}

// durability says what "acknowledged" means for each runtime's storage here.
var durability = map[string]string{
	"cairn": "one SQLite file per object, WAL, synchronous=NORMAL plus group commit: a commit appends to the WAL " +
		"without fsync, and a response leaves only once the commit log has synced the commit before it; commits " +
		"arriving during a round share the next one (one sync of each file's WAL, or one syncfs of the state " +
		"directory's file system when a round has 4 files or more); KV and D1 use the same commit log; each " +
		"commit is also a record of its pages in the history (segment files synced after the WAL in the same round)",
	cairnNoHistory: "as cairn, with --history=false: no records, no history files",
	"workerd": "localDisk: one SQLite file per object, journal_mode=WAL set by workerd, synchronous left at " +
		"SQLite's default (FULL), fsync through workerd's VFS at each commit (seen with strace: about one fsync per write)",
}

func newReport(duration, warmup time.Duration, conns []int, pinned bool) *report {
	now := time.Now()
	host, _ := os.Hostname()
	return &report{
		Date:    now.Format("2006-01-02"),
		Started: now,
		Machine: machine{
			Host: host, CPUs: runtime.NumCPU(), CPU: cpuModel(), Go: runtime.Version(),
			Kernel:  readTrim("/proc/sys/kernel/osrelease"),
			MemInfo: memTotal(),
		},
		Options: options{Duration: duration.String(), Warmup: warmup.String(), Conns: conns, Pinned: pinned},
		Runtime: map[string]*runtimeInfo{},
	}
}

func (r *report) runtime(name string) *runtimeInfo {
	if r.Runtime[name] == nil {
		r.Runtime[name] = &runtimeInfo{Durability: durability[name]}
	}
	return r.Runtime[name]
}

func (r *report) finish() {
	r.Elapsed = time.Since(r.Started).Round(time.Second).String()
	r.Notes = []string{
		"Closed loop: each connection sends its next request when the previous answer arrives; req/s counts 2xx answers only.",
		"Both runtimes serve the same bench/app/worker.js with Durable Object SQLite storage on the same disk, one after the other on the same scenario (order alternates per row).",
		"D1 on workerd: workerd's own D1 binding (cloudflare-internal:d1-api) in front of bench/app/d1-backend.js, a Miniflare-style backend running the queries in a SQLite Durable Object; cairn serves the binding natively.",
		"A scenario a runtime answers with non-2xx (e.g. JS RPC or D1 not implemented yet) is n/a for it.",
	}
	if r.Options.Pinned {
		r.Notes = append(r.Notes, "Pinned: each server on core 0 (taskset -c 0), the load generator on core 1.")
	} else {
		r.Notes = append(r.Notes, "Not pinned: servers and the load generator share all cores.")
	}
}

// markdown renders the table, memory, machine and durability notes.
func (r *report) markdown(runtimes []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## cairn vs workerd — %s, %s\n\n", r.Date, r.Machine.Host)
	fmt.Fprintf(&b, "%s per run after %s warm-up; %s\n\n", r.Options.Duration, r.Options.Warmup,
		map[bool]string{true: "servers pinned to core 0, load generator to core 1.", false: "not pinned (servers and load generator share the cores)."}[r.Options.Pinned])

	ratio := len(runtimes) == 2 && runtimes[0] == "cairn" && runtimes[1] == "workerd"
	head := []string{"scenario", "conns"}
	for _, rt := range runtimes {
		head = append(head, rt+" req/s", rt+" p50", rt+" p99")
	}
	if ratio {
		head = append(head, "cairn/workerd")
	}
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for i := range head {
		if i < 2 {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")

	var notes []string
	note := func(s string) string {
		for i, n := range notes {
			if n == s {
				return fmt.Sprintf("[%d]", i+1)
			}
		}
		notes = append(notes, s)
		return fmt.Sprintf("[%d]", len(notes))
	}
	type key struct {
		sc string
		c  int
	}
	seen := map[key]bool{}
	for _, c := range r.Cells {
		k := key{c.Scenario, c.Conns}
		if seen[k] {
			continue
		}
		seen[k] = true
		row := []string{c.Scenario, fmt.Sprint(c.Conns)}
		rps := map[string]float64{}
		for _, rt := range runtimes {
			x := r.find(c.Scenario, c.Conns, rt)
			switch {
			case x == nil:
				row = append(row, "", "", "")
			case x.Status != "ok":
				label := x.Status
				if x.Note != "" {
					label += " " + note(rt+": "+x.Note)
				}
				row = append(row, label, "", "")
			default:
				rs := fmt.Sprintf("%.0f", x.Result.ReqPerSec)
				if x.Result.Errors > 0 {
					rs += fmt.Sprintf(" (%d err %s)", x.Result.Errors, note(rt+": "+x.Note))
				}
				rps[rt] = x.Result.ReqPerSec
				row = append(row, rs, fmtDur(x.Result.P50), fmtDur(x.Result.P99))
			}
		}
		if ratio {
			if rps["cairn"] > 0 && rps["workerd"] > 0 {
				row = append(row, fmt.Sprintf("%.2f×", rps["cairn"]/rps["workerd"]))
			} else {
				row = append(row, "n/a")
			}
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "[%d] %s  \n", i+1, oneLine(n))
		}
	}

	b.WriteString("\n**Memory** (VmRSS of the server process after sql-10k):")
	var mem []string
	for _, rt := range runtimes {
		info := r.Runtime[rt]
		if info != nil && info.RSSAfter10kKB > 0 {
			mem = append(mem, fmt.Sprintf("%s %.0f MiB (process %q)", rt, float64(info.RSSAfter10kKB)/1024, info.Process))
		} else {
			mem = append(mem, rt+" n/a")
		}
	}
	if !slices.ContainsFunc(r.Cells, func(c cell) bool { return c.Scenario == "sql-10k" }) {
		mem = []string{"not measured (sql-10k was not run)"}
	}
	b.WriteString(" " + strings.Join(mem, "; ") + ".\n")
	b.WriteString("\n**Machine:** ")
	m := r.Machine
	fmt.Fprintf(&b, "%s, %d CPUs, %s, Linux %s, %s.\n\n", m.CPU, m.CPUs, m.MemInfo, m.Kernel, m.Go)
	b.WriteString("**Runtimes and durability:**\n\n")
	for _, rt := range runtimes {
		info := r.Runtime[rt]
		if info == nil {
			continue
		}
		fmt.Fprintf(&b, "- %s %s: %s", rt, info.Version, info.Durability)
		if info.Error != "" {
			fmt.Fprintf(&b, " — **did not run**: %s", oneLine(firstLines(info.Error, 3)))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, n := range r.Notes {
		b.WriteString("- " + n + "\n")
	}
	return b.String()
}

func (r *report) find(sc string, conns int, rt string) *cell {
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.Scenario == sc && c.Conns == conns && c.Runtime == rt {
			return c
		}
	}
	return nil
}

func (r *report) writeJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// fmtDur prints a latency with three significant digits or so.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func cpuModel() string {
	for _, line := range strings.Split(readTrim("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	for _, line := range strings.Split(readTrim("/proc/meminfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return fmt.Sprintf("%.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return ""
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}
