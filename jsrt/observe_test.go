package jsrt

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestResetCause(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{errCPULimit, "cpu"},
		{fmt.Errorf("task: %w", errCPULimit), "cpu"},
		{errMemoryLimit, "memory"},
		{errRuntimeBroken, "stack"},
		{errInternal, "internal"},
		{errors.New("something else"), "other"},
	} {
		if got := resetCause(tt.err); got != tt.want {
			t.Errorf("resetCause(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestCPUTime(t *testing.T) {
	var nilTime *CPUTime
	if nilTime.Load() != 0 {
		t.Error("a nil CPUTime has time")
	}
	measure(nil)() // measures nothing, does not panic
	c := new(CPUTime)
	stop := measure(c)
	time.Sleep(5 * time.Millisecond)
	stop()
	if got := c.Load(); got < 5*time.Millisecond || got > time.Second {
		t.Errorf("measured %v around a 5 ms sleep", got)
	}
	// A task still running counts until now.
	c2 := new(CPUTime)
	stop = measure(c2)
	time.Sleep(5 * time.Millisecond)
	if got := c2.Load(); got < 5*time.Millisecond {
		t.Errorf("running task: %v, want ≥ 5ms", got)
	}
	stop()
	if cpuTimeOf(WithCPUTime(t.Context(), c)) != c {
		t.Error("WithCPUTime: not found in the context")
	}
}
