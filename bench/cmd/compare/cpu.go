package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTime returns the CPU time (user + system) the server's process has
// used so far, from /proc/PID/stat: a measure of the work per request
// that other load on the machine disturbs less than throughput.
func (s *server) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc stat")
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// cairnNoHistory is the runtime name of cairn run with --history=false,
// to measure what keeping the history of commits costs.
const cairnNoHistory = "cairn-nohistory"

// withoutHistory turns a prepared cairn into cairn-nohistory: its own
// state directory, history off.
func withoutHistory(p prepared) prepared {
	p.name = cairnNoHistory
	argv := append([]string(nil), p.argv...)
	for i := range argv {
		if i > 0 && argv[i-1] == "--persist-to" {
			argv[i] += "-nohistory"
		}
	}
	p.argv = append(argv, "--history=false")
	return p
}
