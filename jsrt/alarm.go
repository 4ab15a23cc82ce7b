package jsrt

import (
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
)

// Alarms on the JS side: ctx.storage.getAlarm/setAlarm/deleteAlarm (the
// alarm lives in the object's storage, see storage/alarm.go) and the alarm
// event, which the Host's scheduler delivers (objects/alarms.go).

// alarm changes made in a turn, applied to the Host's index at commit.
const (
	alarmUnchanged = iota
	alarmWasSet
	alarmWasDeleted
)

// getAlarm returns the alarm time in ms, or null. While a handler runs, the
// alarm it runs for counts as not set.
func (i *instance) getAlarm() goja.Value {
	ms, ok, err := i.obj.Storage.Alarm()
	if err != nil {
		i.rt.throw(err)
	}
	if !ok || ms == i.runningAlarm {
		return goja.Null()
	}
	return i.rt.vm.ToValue(ms)
}

// setAlarm sets the alarm to ms; the JS side has checked the argument.
func (i *instance) setAlarm(ms int64) {
	if i.this != nil {
		if _, ok := goja.AssertFunction(i.this.Get("alarm")); !ok {
			panic(i.rt.vm.NewTypeError("Your Durable Object class must have an alarm() handler in order to call setAlarm()"))
		}
	}
	if err := i.obj.Storage.SetAlarm(ms); err != nil {
		i.rt.throw(err)
	}
	i.alarmChange, i.alarmAt = alarmWasSet, ms
}

func (i *instance) deleteAlarm() {
	if err := i.obj.Storage.DeleteAlarm(); err != nil {
		i.rt.throw(err)
	}
	i.alarmChange = alarmWasDeleted
}

// indexAlarm brings the Host's alarm index up to date with the turn's
// alarm change: a set is indexed (durably) before the commit that makes
// it, a delete after.
func (i *instance) indexAlarm(beforeCommit bool) error {
	host := i.rt.w.cfg.Host
	switch {
	case i.alarmChange == alarmWasSet && beforeCommit:
		return host.SetAlarm(i.class, i.obj.ID, i.obj.Name, i.alarmAt)
	case i.alarmChange == alarmWasDeleted && !beforeCommit:
		host.DeleteAlarm(i.class, i.obj.ID)
	}
	return nil
}

// Alarm runs an alarm event (objects.AlarmTaker).
func (i *instance) Alarm(scheduled int64, retryCount int, done func(objects.AlarmResult)) {
	rt := i.rt
	if !rt.loop.submit(rt.as(i, func() {
		if i.evicted {
			done(objects.AlarmResult{Err: objects.ErrEvicted})
			return
		}
		pending := new(func(error))
		answered := false
		finish := func(r objects.AlarmResult) {
			if !answered {
				answered = true
				delete(i.inflight, pending)
				done(r)
			}
		}
		*pending = func(error) { finish(objects.AlarmResult{Failed: true}) } // a reset: retry
		i.inflight[pending] = struct{}{}
		i.deliver(func() { i.runAlarm(scheduled, retryCount, finish) }, *pending)
	})) {
		done(objects.AlarmResult{Err: objects.ErrClosed})
	}
}

// runAlarm calls the class's alarm() handler if the object's storage still
// holds the alarm, and reports the outcome once its writes are durable.
func (i *instance) runAlarm(scheduled int64, retryCount int, finish func(objects.AlarmResult)) {
	rt := i.rt
	db := i.obj.Storage
	i.touch(false)
	ms, ok, err := db.Alarm()
	if err != nil {
		finish(objects.AlarmResult{Failed: true})
		return
	}
	if !ok {
		finish(objects.AlarmResult{}) // deleted meanwhile
		return
	}
	if ms != scheduled && ms > time.Now().UnixMilli() {
		finish(objects.AlarmResult{Next: time.UnixMilli(ms)}) // moved later
		return
	}
	scheduled = ms
	handler, ok := goja.AssertFunction(i.this.Get("alarm"))
	if !ok {
		rt.log.Warn("alarm due but the class has no alarm() handler; dropped", "class", i.class, "id", i.obj.ID.String())
		i.deleteAlarm()
		rt.gate(i, func(error) { finish(objects.AlarmResult{}) })
		return
	}
	next := func() time.Time { // the alarm set while the handler ran, if any
		ms, ok, _ := db.Alarm()
		if ok && ms != scheduled {
			return time.UnixMilli(ms)
		}
		return time.Time{}
	}
	info := rt.vm.NewObject()
	_ = info.Set("retryCount", retryCount)
	_ = info.Set("isRetry", retryCount > 0)
	i.runningAlarm = scheduled
	v, err := handler(i.this, info)
	if err != nil {
		i.runningAlarm = 0
		rt.log.Error("alarm() threw", "class", i.class, "id", i.obj.ID.String(), "retryCount", retryCount, "error", jsError(err).Error())
		finish(objects.AlarmResult{Failed: true, Next: next()})
		return
	}
	rt.await(v, func(goja.Value) {
		i.runningAlarm = 0
		if ms, ok, _ := db.Alarm(); ok && ms == scheduled {
			i.touch(true)
			i.deleteAlarm() // done: consumed, unless the handler set another
		}
		n := next()
		// The alarm counts as done only once its writes are durable.
		rt.gate(i, func(err error) { finish(objects.AlarmResult{Failed: err != nil, Next: n}) })
	}, func(err error) {
		i.runningAlarm = 0
		rt.log.Error("alarm() rejected", "class", i.class, "id", i.obj.ID.String(), "retryCount", retryCount, "error", err.Error())
		finish(objects.AlarmResult{Failed: true, Next: next()})
	})
}
