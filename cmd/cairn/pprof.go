package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"time"

	"github.com/dop251/goja"
)

// servePprof serves Go's profiler on $CAIRN_PPROF (e.g. 127.0.0.1:6060)
// when it is set, for profiling cairn under a benchmark; /debug/pprof/js
// profiles the JavaScript.
func servePprof() {
	addr := os.Getenv("CAIRN_PPROF")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// The JS profile: where Worker code (and cairn's prelude) spends time.
	mux.HandleFunc("/debug/pprof/js", func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if err != nil || secs <= 0 {
			secs = 10
		}
		if err := goja.StartProfile(w); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		time.Sleep(time.Duration(secs) * time.Second)
		goja.StopProfile()
	})
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			slog.Error("pprof", "addr", addr, "error", err)
		}
	}()
}
