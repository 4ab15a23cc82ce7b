package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/server"
)

// recorder is a prometheus.Registerer that keeps what is registered.
type recorder struct{ cs []prometheus.Collector }

func (r *recorder) Register(c prometheus.Collector) error { r.cs = append(r.cs, c); return nil }
func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	r.cs = append(r.cs, cs...)
}
func (r *recorder) Unregister(prometheus.Collector) bool { return false }

// The Grafana dashboard in deploy/ uses only metrics cairn exports, and
// charts every one of them.
func TestDashboardMatchesMetrics(t *testing.T) {
	rec := &recorder{}
	if _, err := New(rec, func() []*server.App { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 256)
	for _, c := range rec.cs {
		c.Describe(ch)
	}
	close(ch)
	fqName := regexp.MustCompile(`fqName: "([a-z_:]+)"`)
	exported := map[string]bool{}
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			exported[m[1]] = true
		}
	}

	b, err := os.ReadFile("../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	name := regexp.MustCompile(`\b(cairn|go|process)_[a-z_]+`)
	suffix := regexp.MustCompile(`_(bucket|count|sum)$`)
	charted := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				if !exported[n] {
					n = suffix.ReplaceAllString(n, "")
				}
				if !exported[n] {
					t.Errorf("panel %q: %s is not a metric cairn exports", p.Title, n)
				}
				charted[n] = true
			}
		}
	}
	var missing []string
	for n := range exported {
		if regexp.MustCompile(`^cairn_`).MatchString(n) && !charted[n] {
			missing = append(missing, n)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("the dashboard does not chart %v", missing)
	}
}
