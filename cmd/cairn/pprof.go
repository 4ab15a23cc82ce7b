package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// servePprof serves Go's profiler on $CAIRN_PPROF (e.g. 127.0.0.1:6060)
// when it is set, for profiling cairn under a benchmark.
func servePprof() {
	addr := os.Getenv("CAIRN_PPROF")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			slog.Error("pprof", "addr", addr, "error", err)
		}
	}()
}
