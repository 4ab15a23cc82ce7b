package jsrt

import (
	"context"
	"errors"
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/tail"
)

// ErrNoScheduled is returned by Scheduled when the Worker has no scheduled
// handler.
var ErrNoScheduled = errors.New("Handler does not export a scheduled() function.")

// Scheduled runs the Worker's scheduled handler for a cron trigger, as
// Cloudflare does: scheduled(controller, env, ctx) on the default export
// (or scheduled(controller) on a WorkerEntrypoint class), where controller
// has cron, scheduledTime (ms since the epoch), type "scheduled" and
// noRetry(). It returns when the handler's promise settles, with its
// rejection if any. The CPU limit applies as to a request.
func (w *Worker) Scheduled(ctx context.Context, cron string, at time.Time) (err error) {
	// With a tail connected, the event is a trace item of its own.
	trace := w.startTrace(nil, "", func(it *tail.Item) {
		it.Event = &tail.Event{Cron: cron, ScheduledTime: at.UnixMilli()}
	})
	if trace != nil {
		defer func() {
			if err != nil {
				trace.Finish(traceError(trace, err), 0)
			} else {
				trace.Finish(tail.OutcomeOK, 0)
			}
		}()
	}
	rt := w.rts[int(w.next.Add(1))%len(w.rts)]
	ch := make(chan error, 1)
	task := func() {
		if trace != nil {
			prev := rt.trace
			rt.trace = trace
			defer func() { rt.trace = prev }()
		}
		// In inflight, so the CPU limit fails it as it fails requests.
		pending := new(func(error))
		deliver := func(err error) {
			if _, ok := rt.inflight[pending]; !ok {
				return
			}
			delete(rt.inflight, pending)
			ch <- err
		}
		*pending = deliver
		rt.inflight[pending] = struct{}{}
		target, isClass, err := rt.entrypoint("default")
		if err != nil {
			deliver(err)
			return
		}
		fn, ok := goja.AssertFunction(target.Get("scheduled"))
		if !ok {
			deliver(ErrNoScheduled)
			return
		}
		ctl := rt.vm.NewObject()
		_ = ctl.Set("cron", cron)
		_ = ctl.Set("scheduledTime", at.UnixMilli())
		_ = ctl.Set("type", "scheduled")
		_ = ctl.Set("noRetry", func() {})
		var v goja.Value
		if isClass {
			v, err = fn(target, ctl)
		} else {
			v, err = fn(target, ctl, rt.env, rt.newExecutionContext())
		}
		if err != nil {
			deliver(jsError(err))
			return
		}
		rt.await(v, func(goja.Value) { deliver(nil) }, deliver)
	}
	if !rt.loop.Submit(task) {
		return ErrStopped
	}
	select {
	case err := <-ch:
		if err != nil && !errors.Is(err, ErrNoScheduled) {
			w.exception("scheduled")
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-w.ctx.Done():
		return ErrStopped
	}
}

// HasScheduled reports whether the Worker's default export has a
// scheduled handler.
func (w *Worker) HasScheduled() bool {
	rt := w.rts[0]
	ch := make(chan bool, 1)
	if !rt.loop.Submit(func() {
		v := rt.exports.Get("default")
		if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
			ch <- false
			return
		}
		obj := v.ToObject(rt.vm)
		if _, ok := goja.AssertConstructor(v); ok {
			has := false
			if proto, ok := obj.Get("prototype").(*goja.Object); ok {
				_, has = goja.AssertFunction(proto.Get("scheduled"))
			}
			ch <- has
			return
		}
		_, has := goja.AssertFunction(obj.Get("scheduled"))
		ch <- has
	}) {
		return false
	}
	select {
	case has := <-ch:
		return has
	case <-w.ctx.Done():
		return false
	}
}
