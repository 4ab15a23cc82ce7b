package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsRequestsErrorsAndConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "nope", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	var n atomic.Int64
	res, err := Run(context.Background(), Options{
		Conns:    4,
		Duration: 300 * time.Millisecond,
		Warmup:   50 * time.Millisecond,
		URL: func(rng *rand.Rand) string {
			if n.Add(1)%10 == 0 {
				return srv.URL + "/fail"
			}
			return srv.URL + fmt.Sprintf("/ok?id=%d", rng.IntN(100))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 10 || res.Errors == 0 {
		t.Fatalf("requests=%d errors=%d, want many of both", res.Requests, res.Errors)
	}
	if ratio := float64(res.Errors) / float64(res.Requests+res.Errors); ratio < 0.05 || ratio > 0.15 {
		t.Errorf("error ratio %.3f, want about 0.1", ratio)
	}
	if res.FirstError == "" {
		t.Error("FirstError empty")
	}
	if !(0 < res.P50 && res.P50 <= res.P99 && res.P99 <= res.Max) {
		t.Errorf("percentiles out of order: p50=%v p99=%v max=%v", res.P50, res.P99, res.Max)
	}
	if res.ReqPerSec <= 0 || res.Elapsed < 300*time.Millisecond {
		t.Errorf("req/s=%v elapsed=%v", res.ReqPerSec, res.Elapsed)
	}
	// Error responses keep the connection alive too: one connection per worker.
	if c := conns.Load(); c != 4 {
		t.Errorf("server saw %d connections, want 4 (one keep-alive connection per worker)", c)
	}
}

func TestRunMaxRequestsBounds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{
		Conns: 2, Duration: 5 * time.Second, MaxRequests: 50,
		URL: func(*rand.Rand) string { return srv.URL },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests > 50 {
		t.Fatalf("requests=%d, want at most 50", res.Requests)
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {0, 1}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing should be 0")
	}
}
