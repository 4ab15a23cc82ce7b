// Package eventloop owns the event loop of one JavaScript runtime: the
// queue of tasks, the timers, and the hooks around each task.
//
// # Model
//
// A Loop runs on one goroutine (the one that calls Run), and everything that
// touches the runtime's JS engine runs there. Work arrives as tasks
// (macrotasks in the HTML sense): Submit queues one from any goroutine, and
// a timer set with SetTimer becomes one when it is due. Tasks run one at a
// time, in the order they were queued; due timers run after the queued
// tasks of the same round, in due order.
//
// Promise jobs (microtasks) are not the loop's: the engine runs them when
// a task's outermost JS call returns, so they belong to the task that
// queued them and finish before the next task starts.
//
// Around each task the loop calls two hooks. TurnStart runs before it (the
// runtime clears a stale CPU-limit interrupt). TurnEnd runs after it, once
// its promise jobs have run: the runtime commits the storage writes of the
// turn there and opens the output gate, so a task is the unit of atomic
// storage writes.
//
// Running reports the running task's number and start time to any
// goroutine, and TaskCPU the CPU time the task has used: while a task runs
// its goroutine is locked to its OS thread, whose CPU clock (Linux) a
// watchdog reads to interrupt a task over its CPU limit.
// Stop ends the loop after the running task; work submitted after that is
// refused, and its callers fail it with ErrStopped.
package eventloop
