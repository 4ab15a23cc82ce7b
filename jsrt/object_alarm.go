package jsrt

import (
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/tail"
)

// Alarms on the JS side: ctx.storage.getAlarm/setAlarm/deleteAlarm and the
// alarm event. The alarm lives in the object's storage and its bookkeeping
// in the object's gate (objects/gate_alarm.go); the Host's scheduler
// delivers the event (objects/alarms.go).

// getAlarm returns the alarm time in ms, or null. While a handler runs, the
// alarm it runs for counts as not set.
func (i *instance) getAlarm() goja.Value {
	ms, ok, err := i.gate.Alarm()
	if err != nil {
		i.rt.throw(err)
	}
	if !ok {
		return goja.Null()
	}
	return i.rt.vm.ToValue(ms)
}

// setAlarm sets the alarm to ms; the JS side has checked the argument.
func (i *instance) setAlarm(ms int64, confirm bool) {
	if i.this != nil {
		if _, ok := goja.AssertFunction(i.this.Get("alarm")); !ok {
			panic(i.rt.vm.NewTypeError("Your Durable Object class must have an alarm() handler in order to call setAlarm()"))
		}
	}
	if err := i.gate.SetAlarm(ms, confirm); err != nil {
		i.rt.throw(err)
	}
}

func (i *instance) deleteAlarm(confirm bool) {
	if err := i.gate.DeleteAlarm(confirm); err != nil {
		i.rt.throw(err)
	}
}

// Alarm runs an alarm event (objects.AlarmTaker).
func (i *instance) Alarm(scheduled int64, retryCount int, done func(objects.AlarmResult)) {
	// With a tail connected, the alarm is a trace item of its own.
	tr := i.rt.w.startTrace(i, "", func(it *tail.Item) {
		it.Event = &tail.Event{ScheduledTime: time.UnixMilli(scheduled).UTC().Format(time.RFC3339Nano)}
	})
	if tr != nil {
		finish := done
		done = func(r objects.AlarmResult) {
			switch {
			case r.Err != nil:
				tr.Finish(traceError(tr, r.Err), 0)
			case r.Failed:
				tr.Finish(tail.OutcomeException, 0)
			default:
				tr.Finish(tail.OutcomeOK, 0)
			}
			finish(r)
		}
	}
	ok := i.Post(func() {
		err := i.gate.Deliver(func(ev *objects.Event) {
			if tr != nil {
				prev := i.rt.trace
				i.rt.trace = tr
				defer func() { i.rt.trace = prev }()
			}
			i.gate.RunAlarm(scheduled, i.alarmHandler(retryCount), func(r objects.AlarmResult) {
				if ev.Done() {
					done(r)
				}
			})
		}, func(error) { done(objects.AlarmResult{Failed: true}) }) // a reset: retry
		if err != nil {
			done(objects.AlarmResult{Err: err})
		}
	})
	if !ok {
		done(objects.AlarmResult{Err: objects.ErrClosed})
	}
}

// alarmHandler returns the class's alarm() handler as the gate runs it,
// nil if the class has none.
func (i *instance) alarmHandler(retryCount int) func(done func(error)) {
	rt := i.rt
	handler, ok := goja.AssertFunction(i.this.Get("alarm"))
	if !ok {
		return nil
	}
	return func(done func(error)) {
		finish := done
		done = func(err error) {
			if err != nil {
				rt.w.exception("alarm")
				if tr := rt.trace; tr != nil { // the exception goes in the alarm's trace item
					traceError(tr, err)
				}
			}
			finish(err)
		}
		info := rt.vm.NewObject()
		_ = info.Set("retryCount", retryCount)
		_ = info.Set("isRetry", retryCount > 0)
		v, err := handler(i.this, info)
		if err != nil {
			done(jsError(err))
			return
		}
		rt.await(v, func(goja.Value) { done(nil) }, done)
	}
}
