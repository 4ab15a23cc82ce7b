// Package metrics exports cairn's numbers to Prometheus: requests by
// Worker, route and status with their latency and CPU time, Durable
// Objects (live, hibernated, activated, evicted, alarm lag), commits
// (group sizes, syncs, latency), storage bytes per namespace and database,
// WebSocket connections and messages, uncaught exceptions and runtime
// resets.
//
// The packages that do the work do not import Prometheus. Each says what
// it does through a small observer interface of its own (commit.Observer,
// objects.Observer, sockets.Observer, jsrt.Observer, server.Observer),
// which Metrics implements by updating its counters and histograms; what
// an App holds now (live objects, open sockets, bytes on disk) is read at
// scrape time. So the request path costs a few atomic additions, and
// counters survive reloads and deploys, which replace the Apps.
//
// There is no global state: the process makes one prometheus.Registry,
// passes it to New, and serves it with Handler on the admin address.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/server"
)

// StorageCacheTime is how long the storage sizes read at a scrape are
// reused: reading them lists every object's file.
const StorageCacheTime = 30 * time.Second

// Metrics owns cairn's collectors. It implements server.Observer: give it
// to server.Options.Observer (for the Apps' parts) and server.Server's
// Observer (for requests).
type Metrics struct {
	apps func() []*server.App
	log  *slog.Logger

	requests   *prometheus.HistogramVec // worker, route, status
	requestCPU *prometheus.HistogramVec // worker, route
	series     sync.Map                 // requestKey → *requestSeries: the label lookups, done once

	activations *prometheus.CounterVec   // worker, class
	evictions   *prometheus.CounterVec   // worker, class, hibernated
	alarmLag    *prometheus.HistogramVec // worker, class

	commits       *prometheus.CounterVec   // worker
	commitsFailed *prometheus.CounterVec   // worker
	syncs         *prometheus.CounterVec   // worker, kind
	groupSize     *prometheus.HistogramVec // worker
	commitLatency *prometheus.HistogramVec // worker
	syncDuration  *prometheus.HistogramVec // worker

	wsOpened   *prometheus.CounterVec // worker
	wsMessages *prometheus.CounterVec // worker, direction
	wsBytes    *prometheus.CounterVec // worker, direction

	exceptions *prometheus.CounterVec // worker, where
	resets     *prometheus.CounterVec // worker, cause

	// Read at scrape time (see Collect).
	liveDesc, hibernatedDesc, wsOpenDesc, storageDesc *prometheus.Desc

	storageMu   sync.Mutex
	storageAt   time.Time
	storageLast []storageSample
}

type storageSample struct {
	worker string
	server.StorageUsage
}

// statusText holds the status label of each HTTP status code, made once.
var statusText = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// New makes cairn's collectors and registers them with reg, with Go's
// runtime and process collectors. apps returns the Apps being served now,
// whose gauges (live objects, sockets, storage) are read at each scrape;
// log gets scrape errors (nil: slog.Default()). It fails if reg has
// collectors of the same names already.
func New(reg prometheus.Registerer, apps func() []*server.App, log *slog.Logger) (*Metrics, error) {
	if log == nil {
		log = slog.Default()
	}
	w := []string{"worker"}
	m := &Metrics{
		apps: apps,
		log:  log,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cairn_request_duration_seconds",
			Help:    "Requests served, by Worker, matched route pattern and status: time until the response was complete.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"worker", "route", "status"}),
		requestCPU: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cairn_request_cpu_seconds",
			Help:    "Time a request's code ran on its runtime's thread (as the CPU limit counts it).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30},
		}, []string{"worker", "route"}),
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_object_activations_total",
			Help: "Durable Objects brought into memory.",
		}, []string{"worker", "class"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_object_evictions_total",
			Help: "Durable Objects evicted from memory; hibernated=\"true\" for those that kept hibernatable WebSockets open.",
		}, []string{"worker", "class", "hibernated"}),
		alarmLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cairn_alarm_lag_seconds",
			Help:    "How late alarms were handed to their objects, after the time they were due.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300},
		}, []string{"worker", "class"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_commits_total",
			Help: "Commits (of objects, D1, KV and R2) made durable or failed by group commit.",
		}, w),
		commitsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_commit_failures_total",
			Help: "Commits whose sync failed.",
		}, w),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_commit_syncs_total",
			Help: "Syncs made by group commit: kind=\"fsync\" per file, kind=\"syncfs\" for a round made durable by one sync of the file system.",
		}, []string{"worker", "kind"}),
		groupSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cairn_commit_group_size",
			Help:    "Commits made durable together in one round of group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}, w),
		commitLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cairn_commit_latency_seconds",
			Help:    "Time from a commit's submission until it was durable (what a response behind the output gate waits).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, w),
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cairn_commit_round_seconds",
			Help:    "Time the syncs of one round of group commit took.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, w),
		wsOpened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_websocket_connections_total",
			Help: "WebSocket connections made (upgrades, outgoing and in-process connections).",
		}, w),
		wsMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_websocket_messages_total",
			Help: "WebSocket data messages, direction=\"in\" received (auto-responses included) or \"out\" sent.",
		}, []string{"worker", "direction"}),
		wsBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_websocket_message_bytes_total",
			Help: "Payload bytes of WebSocket data messages, by direction.",
		}, []string{"worker", "direction"}),
		exceptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_exceptions_total",
			Help: "Errors thrown by Worker code and not caught by it, by where: fetch, object, promise, listener, waitUntil, alarm, scheduled.",
		}, []string{"worker", "where"}),
		resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_runtime_resets_total",
			Help: "JS runtimes started afresh (dropping their objects' in-memory state), by cause: cpu, memory, stack, internal.",
		}, []string{"worker", "cause"}),
		liveDesc: prometheus.NewDesc("cairn_objects_live",
			"Durable Objects in memory.", w, nil),
		hibernatedDesc: prometheus.NewDesc("cairn_objects_hibernated",
			"Durable Objects not in memory that keep hibernatable WebSockets open.", w, nil),
		wsOpenDesc: prometheus.NewDesc("cairn_websocket_connections",
			"WebSockets connected now.", w, nil),
		storageDesc: prometheus.NewDesc("cairn_storage_bytes",
			"Bytes on disk (database and WAL files) of each Durable Object namespace (kind=\"durable_object\", name=class), D1 database, KV namespace and R2 bucket; refreshed at most every 30 s.",
			[]string{"worker", "kind", "name"}, nil),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.requestCPU, m.activations, m.evictions, m.alarmLag,
		m.commits, m.commitsFailed, m.syncs, m.groupSize, m.commitLatency, m.syncDuration,
		m.wsOpened, m.wsMessages, m.wsBytes, m.exceptions, m.resets,
		gauges{m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Handler serves the metrics of g in Prometheus's text (or OpenMetrics)
// format. Mount it behind the admin API's rule for callers
// (server.API.Guard): GET /metrics on the admin address.
func Handler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:          slogPrinter{log},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// slogPrinter is promhttp's error log on slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("metrics: " + strings.TrimSpace(fmt.Sprintln(v...)))
}

// requestKey names the series of a request.
type requestKey struct {
	worker, route string
	status        int
}

// requestSeries are the histograms of one requestKey.
type requestSeries struct{ took, cpu prometheus.Observer }

// Request implements server.Observer.
func (m *Metrics) Request(worker, route string, status int, took, cpu time.Duration) {
	k := requestKey{worker, route, status}
	v, ok := m.series.Load(k)
	if !ok {
		code := strconv.Itoa(status)
		if status >= 0 && status < len(statusText) {
			code = statusText[status]
		}
		v, _ = m.series.LoadOrStore(k, &requestSeries{
			took: m.requests.WithLabelValues(worker, route, code),
			cpu:  m.requestCPU.WithLabelValues(worker, route),
		})
	}
	s := v.(*requestSeries)
	s.took.Observe(took.Seconds())
	s.cpu.Observe(cpu.Seconds())
}

// Worker implements server.Observer: the observers of one Worker's parts.
func (m *Metrics) Worker(name string) server.WorkerObservers {
	return server.WorkerObservers{
		Commit: &commitObserver{
			commits:   m.commits.WithLabelValues(name),
			failed:    m.commitsFailed.WithLabelValues(name),
			fsyncs:    m.syncs.WithLabelValues(name, "fsync"),
			syncfs:    m.syncs.WithLabelValues(name, "syncfs"),
			groupSize: m.groupSize.WithLabelValues(name),
			latency:   m.commitLatency.WithLabelValues(name),
			round:     m.syncDuration.WithLabelValues(name),
		},
		Objects: &objectObserver{m: m, worker: name},
		JS:      &jsObserver{m: m, worker: name},
		Sockets: &socketObserver{
			opened:   m.wsOpened.WithLabelValues(name),
			in:       m.wsMessages.WithLabelValues(name, "in"),
			out:      m.wsMessages.WithLabelValues(name, "out"),
			inBytes:  m.wsBytes.WithLabelValues(name, "in"),
			outBytes: m.wsBytes.WithLabelValues(name, "out"),
		},
	}
}

// commitObserver counts one Worker's rounds of group commit.
type commitObserver struct {
	commits, failed, fsyncs, syncfs prometheus.Counter
	groupSize, latency, round       prometheus.Observer
}

func (o *commitObserver) Round(r commit.Round) {
	o.commits.Add(float64(r.Commits))
	if r.Failed > 0 {
		o.failed.Add(float64(r.Failed))
	}
	if r.FileSystem {
		o.syncfs.Inc()
	} else {
		o.fsyncs.Add(float64(r.Files))
	}
	o.groupSize.Observe(float64(r.Commits))
	o.round.Observe(r.Took.Seconds())
	for _, w := range r.Waits {
		o.latency.Observe(w.Seconds())
	}
}

// objectObserver counts one Worker's object lifecycle and alarms.
type objectObserver struct {
	m      *Metrics
	worker string
}

func (o *objectObserver) Activated(class string) {
	o.m.activations.WithLabelValues(o.worker, class).Inc()
}

func (o *objectObserver) Evicted(class string, hibernated bool) {
	o.m.evictions.WithLabelValues(o.worker, class, strconv.FormatBool(hibernated)).Inc()
}

func (o *objectObserver) AlarmFired(class string, lag time.Duration) {
	o.m.alarmLag.WithLabelValues(o.worker, class).Observe(max(lag, 0).Seconds())
}

// jsObserver counts one Worker's exceptions and runtime resets.
type jsObserver struct {
	m      *Metrics
	worker string
}

func (o *jsObserver) Exception(where string) { o.m.exceptions.WithLabelValues(o.worker, where).Inc() }
func (o *jsObserver) Reset(cause string)     { o.m.resets.WithLabelValues(o.worker, cause).Inc() }

// socketObserver counts one Worker's WebSocket traffic.
type socketObserver struct {
	opened, in, out, inBytes, outBytes prometheus.Counter
}

func (o *socketObserver) Connected() { o.opened.Inc() }

func (o *socketObserver) Message(received bool, size int) {
	if received {
		o.in.Inc()
		o.inBytes.Add(float64(size))
	} else {
		o.out.Inc()
		o.outBytes.Add(float64(size))
	}
}

// gauges reads what the Apps hold at scrape time.
type gauges struct{ m *Metrics }

func (g gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.m.liveDesc
	ch <- g.m.hibernatedDesc
	ch <- g.m.wsOpenDesc
	ch <- g.m.storageDesc
}

func (g gauges) Collect(ch chan<- prometheus.Metric) {
	m := g.m
	apps := m.apps()
	for _, a := range apps {
		name := a.Config.Name
		gs := a.Gauges()
		ch <- prometheus.MustNewConstMetric(m.liveDesc, prometheus.GaugeValue, float64(gs.LiveObjects), name)
		ch <- prometheus.MustNewConstMetric(m.hibernatedDesc, prometheus.GaugeValue, float64(gs.HibernatedObjects), name)
		ch <- prometheus.MustNewConstMetric(m.wsOpenDesc, prometheus.GaugeValue, float64(gs.WebSockets), name)
	}
	for _, s := range m.storage(apps) {
		ch <- prometheus.MustNewConstMetric(m.storageDesc, prometheus.GaugeValue, float64(s.Bytes), s.worker, s.Kind, s.Name)
	}
}

// storage returns the storage sizes of apps, read at most every
// StorageCacheTime.
func (m *Metrics) storage(apps []*server.App) []storageSample {
	m.storageMu.Lock()
	defer m.storageMu.Unlock()
	if !m.storageAt.IsZero() && time.Since(m.storageAt) < StorageCacheTime {
		return m.storageLast
	}
	var out []storageSample
	for _, a := range apps {
		usage, err := a.StorageUsage()
		if err != nil {
			m.log.Warn("metrics: storage sizes", "worker", a.Config.Name, "error", err)
		}
		for _, u := range usage {
			out = append(out, storageSample{a.Config.Name, u})
		}
	}
	m.storageAt, m.storageLast = time.Now(), out
	return out
}
