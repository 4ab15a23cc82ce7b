// Command d1rest measures D1's REST API on a running cairn: point reads and
// single-row inserts through POST …/d1/database/{id}/query, closed loop, as
// bench/cmd/compare does for the Worker binding.
//
//	cairn dev bench/app --api-port 8788 --persist-to /tmp/d1rest &
//	go run ./bench/cmd/d1rest -api http://127.0.0.1:8788 -db bench
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	api := flag.String("api", "http://127.0.0.1:8788", "the admin API of a running cairn (cairn dev --api-port)")
	db := flag.String("db", "bench", "database id or name")
	token := flag.String("token", os.Getenv("CAIRN_API_TOKEN"), "bearer token")
	conns := flag.String("conns", "1,16,64", "concurrent connections, comma-separated")
	duration := flag.Duration("duration", 3*time.Second, "measured time of each run")
	flag.Parse()
	url := strings.TrimSuffix(*api, "/") + "/client/v4/accounts/local/d1/database/" + *db + "/query"
	c := &client{url: url, token: *token, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	if err := c.post(`{"sql":"CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"}`); err != nil {
		fmt.Fprintln(os.Stderr, "d1rest:", err)
		os.Exit(1)
	}
	for range 1000 {
		if err := c.post(insertBody); err != nil {
			fmt.Fprintln(os.Stderr, "d1rest:", err)
			os.Exit(1)
		}
	}
	fmt.Println("| scenario | conns | req/s | p50 | p99 | errors |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: |")
	for _, scenario := range []string{"rest-read", "rest-insert"} {
		for _, s := range strings.Split(*conns, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				fmt.Fprintf(os.Stderr, "d1rest: bad -conns %q\n", *conns)
				os.Exit(2)
			}
			r := c.run(scenario, n, *duration)
			fmt.Printf("| %s | %d | %.0f | %s | %s | %d |\n", scenario, n, r.perSec, r.p50, r.p99, r.errors)
		}
	}
}

const insertBody = `{"sql":"INSERT INTO items (v) VALUES (?)","params":["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]}`

type client struct {
	url, token string
	http       *http.Client
}

// post sends one query and fails on anything but a successful envelope.
func (c *client) post(body string) error {
	req, err := http.NewRequestWithContext(context.Background(), "POST", c.url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct{ Success bool }
	if resp.StatusCode != 200 || json.Unmarshal(b, &env) != nil || !env.Success {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

type result struct {
	perSec   float64
	p50, p99 time.Duration
	errors   int
}

// run drives n closed-loop workers for d and collects latencies.
func (c *client) run(scenario string, n int, d time.Duration) result {
	var (
		mu     sync.Mutex
		lat    []time.Duration
		errs   int
		wg     sync.WaitGroup
		finish = time.Now().Add(d)
	)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []time.Duration
			bad := 0
			for time.Now().Before(finish) {
				body := insertBody
				if scenario == "rest-read" {
					body = fmt.Sprintf(`{"sql":"SELECT id, v FROM items WHERE id = ?","params":[%d]}`, 1+rng.IntN(1000))
				}
				start := time.Now()
				if err := c.post(body); err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	r := result{perSec: float64(len(lat)) / d.Seconds(), errors: errs}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)*50/100].Round(time.Microsecond)
		r.p99 = lat[len(lat)*99/100].Round(time.Microsecond)
	}
	return r
}
