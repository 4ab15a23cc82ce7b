package objects

import "time"

// Alarms through the gate: the alarm lives in the object's storage (it
// commits and rolls back with the turn's other writes); the Host's index
// learns of a change when the turn commits: a set before the commit that
// makes it (durably), a delete after.

// Alarm returns the object's alarm in ms since the epoch, if one is set.
// While an alarm handler runs, the alarm it runs for counts as not set.
func (g *Gate) Alarm() (ms int64, ok bool, err error) {
	ms, ok, err = g.obj.Storage.Alarm()
	if err != nil || !ok || ms == g.runningAlarm {
		return 0, false, err
	}
	return ms, true, nil
}

// SetAlarm sets the alarm to ms in the current turn. confirm as for Use.
func (g *Gate) SetAlarm(ms int64, confirm bool) error {
	g.Use(confirm)
	if err := g.obj.Storage.SetAlarm(ms); err != nil {
		return err
	}
	g.alarmChange, g.alarmAt = alarmWasSet, ms
	return nil
}

// DeleteAlarm deletes the alarm in the current turn. confirm as for Use.
func (g *Gate) DeleteAlarm(confirm bool) error {
	g.Use(confirm)
	if err := g.obj.Storage.DeleteAlarm(); err != nil {
		return err
	}
	g.alarmChange = alarmWasDeleted
	return nil
}

// indexAlarm brings the Host's alarm index up to date with the turn's
// alarm change.
func (g *Gate) indexAlarm(beforeCommit bool) error {
	host := g.obj.host
	if host == nil {
		return nil
	}
	switch {
	case g.alarmChange == alarmWasSet && beforeCommit:
		return host.SetAlarm(g.obj.Class, g.obj.ID, g.obj.Name, g.alarmAt)
	case g.alarmChange == alarmWasDeleted && !beforeCommit:
		host.DeleteAlarm(g.obj.Class, g.obj.ID)
	}
	return nil
}

// RunAlarm runs an alarm event inside a delivered event: if the object's
// storage still holds the alarm scheduled at scheduled (ms), it calls
// handler, which calls done once the handler has finished (err: it threw).
// handler is nil if the class has no alarm handler: the alarm is dropped.
// The alarm is consumed, and finish told the outcome, only once the
// handler's writes are durable.
func (g *Gate) RunAlarm(scheduled int64, handler func(done func(error)), finish func(AlarmResult)) {
	g.Use(false)
	db := g.obj.Storage
	ms, ok, err := db.Alarm()
	switch {
	case err != nil:
		finish(AlarmResult{Failed: true})
		return
	case !ok:
		finish(AlarmResult{}) // deleted meanwhile
		return
	case ms != scheduled && ms > time.Now().UnixMilli():
		finish(AlarmResult{Next: time.UnixMilli(ms)}) // moved later
		return
	}
	scheduled = ms
	if handler == nil {
		g.log.Warn("alarm due but the class has no alarm() handler; dropped", "class", g.obj.Class, "id", g.obj.ID.String())
		_ = g.DeleteAlarm(false)
		g.Hold(false, func(error) { finish(AlarmResult{}) })
		return
	}
	next := func() time.Time { // the alarm set while the handler ran, if any
		ms, ok, _ := db.Alarm()
		if ok && ms != scheduled {
			return time.UnixMilli(ms)
		}
		return time.Time{}
	}
	gen := g.gen
	g.runningAlarm = scheduled
	handler(func(err error) {
		if g.gen != gen {
			return // reset meanwhile: the event has failed already
		}
		g.runningAlarm = 0
		if err != nil {
			g.log.Error("alarm() failed", "class", g.obj.Class, "id", g.obj.ID.String(), "error", err.Error())
			finish(AlarmResult{Failed: true, Next: next()})
			return
		}
		if ms, ok, _ := db.Alarm(); ok && ms == scheduled {
			_ = g.DeleteAlarm(true) // done: consumed, unless the handler set another
		}
		n := next()
		// The alarm counts as done only once its writes are durable.
		g.Hold(false, func(err error) { finish(AlarmResult{Failed: err != nil, Next: n}) })
	})
}
