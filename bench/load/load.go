// Package load is a small closed-loop HTTP load generator for the benchmark
// harness: N workers, each on its own keep-alive connection, send requests
// back to back for a fixed duration after a warm-up, and the run reports
// throughput and latency percentiles. Non-2xx answers and transport errors
// are counted as errors, apart from the latencies of successful requests.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// URLFunc returns the URL of the next request of one worker. Each worker has
// its own rng, so a URLFunc needs no locking.
type URLFunc func(rng *rand.Rand) string

// Options configure one run.
type Options struct {
	Conns       int           // concurrent workers, each with one connection (default 1)
	Duration    time.Duration // measured time (default 5s)
	Warmup      time.Duration // unmeasured time before it (0: none)
	URL         URLFunc
	Timeout     time.Duration // per request (default 10s)
	MaxRequests int64         // upper bound on measured requests (default 20M)
}

// Result is what one run measured. Latencies are of successful requests only.
type Result struct {
	Conns     int           `json:"conns"`
	Requests  int64         `json:"requests"` // successful, in the measured window
	Errors    int64         `json:"errors"`   // non-2xx or transport errors, in the measured window
	Elapsed   time.Duration `json:"elapsed_ns"`
	ReqPerSec float64       `json:"req_per_sec"` // successful requests per second
	P50       time.Duration `json:"p50_ns"`
	P90       time.Duration `json:"p90_ns"`
	P99       time.Duration `json:"p99_ns"`
	Max       time.Duration `json:"max_ns"`
	// FirstError describes the first error seen (warm-up included), if any.
	FirstError string `json:"first_error,omitempty"`
}

// phase of a run, read by the workers on every request.
const (
	phaseWarmup = iota
	phaseMeasure
	phaseDone
)

// Run drives the load and returns what it measured. It stops after
// Warmup+Duration, when ctx ends, or after MaxRequests measured requests.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.URL == nil {
		return Result{}, errors.New("load: no URL function")
	}
	if o.Conns <= 0 {
		o.Conns = 1
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = 20_000_000
	}

	var (
		phase    atomic.Int32
		measured atomic.Int64 // requests started in the measured phase
		errs     atomic.Int64
		firstErr atomic.Pointer[string]
		wg       sync.WaitGroup
	)
	noteErr := func(s string) { firstErr.CompareAndSwap(nil, &s) }
	lats := make([][]time.Duration, o.Conns)

	for w := range o.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := newClient(o.Timeout)
			defer client.CloseIdleConnections()
			rng := rand.New(rand.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))
			var mine []time.Duration
			for ctx.Err() == nil {
				p := phase.Load()
				if p == phaseDone {
					break
				}
				if p == phaseMeasure && measured.Add(1) > o.MaxRequests {
					break
				}
				start := time.Now()
				err := get(ctx, client, o.URL(rng))
				lat := time.Since(start)
				// A request that straddles the end of the window is not counted.
				if p != phaseMeasure || phase.Load() != phaseMeasure {
					if err != nil {
						noteErr(err.Error())
					}
					continue
				}
				if err != nil {
					errs.Add(1)
					noteErr(err.Error())
					continue
				}
				mine = append(mine, lat)
			}
			lats[w] = mine
		}()
	}

	allDone := make(chan struct{}) // all workers stopped early (MaxRequests)
	go func() { wg.Wait(); close(allDone) }()
	wait := func(d time.Duration) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-allDone:
		}
	}
	wait(o.Warmup)
	start := time.Now()
	phase.Store(phaseMeasure)
	wait(o.Duration)
	elapsed := time.Since(start)
	phase.Store(phaseDone)
	<-allDone

	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Result{
		Conns:    o.Conns,
		Requests: int64(len(all)),
		Errors:   errs.Load(),
		Elapsed:  elapsed,
		P50:      percentile(all, 50),
		P90:      percentile(all, 90),
		P99:      percentile(all, 99),
	}
	if len(all) > 0 {
		r.Max = all[len(all)-1]
	}
	r.ReqPerSec = float64(r.Requests) / elapsed.Seconds()
	if p := firstErr.Load(); p != nil {
		r.FirstError = *p
	}
	return r, ctx.Err()
}

// Do sends one GET and reports a non-2xx answer as an error; for probes
// and warming objects before a run.
func Do(ctx context.Context, url string) error {
	c := newClient(10 * time.Second)
	defer c.CloseIdleConnections()
	return get(ctx, c, url)
}

// newClient returns a client that keeps exactly one connection alive.
func newClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxConnsPerHost:     1,
			MaxIdleConnsPerHost: 1,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// get sends a GET and drains the body so the connection is reused.
func get(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if len(body) > 200 {
			body = body[:200]
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	return nil
}

// percentile returns the p-th percentile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
