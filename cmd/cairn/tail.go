package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/tail"
)

// tailFlags are the options of cairn tail.
type tailFlags struct {
	config       string
	remote       string
	token        string
	account      string
	format       string
	status       []string
	method       []string
	header       string
	search       string
	ip           []string
	versionID    string
	samplingRate float64
}

func newTailCommand() *cobra.Command {
	var f tailFlags
	cmd := &cobra.Command{
		Use:   "tail [worker] --remote URL [--token T]",
		Short: "Stream the live logs and exceptions of a running Worker, like wrangler tail",
		Long: `Streams one item per event of the Worker served by a running cairn (its admin API:
cairn dev --api-port): each request, and each fetch, RPC call and alarm of its
Durable Objects, with the console lines and uncaught exceptions of its code.
The worker is the name in the config (-c) unless given. Filters are applied by
the server: --status ok|error|canceled, --method, --header KEY[:VALUE],
--search TEXT (in console lines and exceptions), --ip (self: yours),
--version-id, --sampling-rate R (0 < R ≤ 1).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			worker := ""
			if len(args) == 1 {
				worker = args[0]
			}
			return runTail(cmd.Context(), f, worker, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", ".", "project directory or config file (for the Worker's name)")
	fl.StringVar(&f.remote, "remote", "", "admin API of a running cairn, e.g. http://127.0.0.1:8788 (required)")
	fl.StringVar(&f.token, "token", "", "bearer token of the admin API (default $CAIRN_API_TOKEN)")
	fl.StringVar(&f.token, "api-token", "", "the same as --token")
	fl.StringVar(&f.account, "account", "local", "account id in the API's paths")
	fl.StringVar(&f.format, "format", "pretty", "output: pretty, or json (one trace item per line)")
	fl.StringSliceVar(&f.status, "status", nil, "only events with this outcome: ok, error or canceled (repeatable)")
	fl.StringSliceVar(&f.method, "method", nil, "only requests with this HTTP method (repeatable)")
	fl.StringVar(&f.header, "header", "", "only requests with this header, KEY or KEY:VALUE")
	fl.StringVar(&f.search, "search", "", "only events whose console lines or exceptions contain this text")
	fl.StringSliceVar(&f.ip, "ip", nil, `only requests from this client address ("self": yours; repeatable)`)
	fl.StringVar(&f.versionID, "version-id", "", "only events of this version of the Worker")
	fl.Float64Var(&f.samplingRate, "sampling-rate", 0, "only this share of events, at random (0 < R ≤ 1)")
	return cmd
}

// filterMessage turns the command line's filters into the filter message
// the server reads (the shape wrangler sends).
func (f *tailFlags) filterMessage() (tail.FilterMessage, error) {
	m := tail.FilterMessage{Filters: []tail.Filter{}}
	if f.samplingRate != 0 {
		if f.samplingRate < 0 || f.samplingRate > 1 {
			return m, fmt.Errorf("--sampling-rate %v: want a share in (0, 1], e.g. 0.25 for a quarter of the events", f.samplingRate)
		}
		r := f.samplingRate
		m.Filters = append(m.Filters, tail.Filter{SamplingRate: &r})
	}
	if len(f.status) > 0 {
		var outcomes []string
		for _, s := range f.status {
			switch s {
			case "ok":
				outcomes = append(outcomes, tail.OutcomeOK)
			case "canceled":
				outcomes = append(outcomes, tail.OutcomeCanceled)
			case "error":
				outcomes = append(outcomes, tail.OutcomeException, tail.OutcomeExceededCPU, tail.OutcomeExceededMemory, tail.OutcomeUnknown)
			default:
				return m, fmt.Errorf("--status %q: want ok, error or canceled", s)
			}
		}
		m.Filters = append(m.Filters, tail.Filter{Outcome: outcomes})
	}
	if len(f.method) > 0 {
		m.Filters = append(m.Filters, tail.Filter{Method: f.method})
	}
	if f.header != "" {
		k, v, _ := strings.Cut(f.header, ":")
		m.Filters = append(m.Filters, tail.Filter{Header: &tail.HeaderFilter{Key: strings.TrimSpace(k), Query: strings.TrimSpace(v)}})
	}
	if len(f.ip) > 0 {
		m.Filters = append(m.Filters, tail.Filter{ClientIP: f.ip})
	}
	if f.search != "" {
		s := f.search
		m.Filters = append(m.Filters, tail.Filter{Query: &s})
	}
	if f.versionID != "" {
		v := f.versionID
		m.Filters = append(m.Filters, tail.Filter{ScriptVersion: &v})
	}
	return m, nil
}

func runTail(ctx context.Context, f tailFlags, worker string, out, errOut io.Writer) error {
	if f.format != "pretty" && f.format != "json" {
		return fmt.Errorf("--format %q: want pretty or json", f.format)
	}
	u, err := url.Parse(f.remote)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--remote %q: want the admin API's URL, e.g. http://127.0.0.1:8788", f.remote)
	}
	if f.token == "" {
		f.token = os.Getenv("CAIRN_API_TOKEN")
	}
	if worker == "" {
		file, err := config.Find(f.config)
		if err != nil {
			return fmt.Errorf("name the Worker to tail (cairn tail NAME), or run in its project: %w", err)
		}
		cfg, err := config.Load(file, func(string) {})
		if err != nil {
			return err
		}
		worker = cfg.Name
	}
	filters, err := f.filterMessage()
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(u.String(), "/") + "/client/v4/accounts/" + url.PathEscape(f.account) + "/workers/scripts/" + url.PathEscape(worker) + "/tails"
	var created struct {
		ID        string `json:"id"`
		URL       string `json:"url"`
		ExpiresAt string `json:"expires_at"`
	}
	body, _ := json.Marshal(filters)
	if err := tailAPI(ctx, http.MethodPost, base, f.token, body, &created); err != nil {
		return err
	}
	defer func() { // the tail goes with us, even if the connection failed
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tailAPI(ctx, http.MethodDelete, base+"/"+url.PathEscape(created.ID), f.token, nil, nil)
	}()
	conn, _, err := websocket.Dial(ctx, created.URL, &websocket.DialOptions{Subprotocols: []string{tail.Protocol}})
	if err != nil {
		return fmt.Errorf("connect to the tail at %s: %w", created.URL, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	// On stderr in both formats: stdout is only items.
	fmt.Fprintf(errOut, "Connected to %s, waiting for logs...\n", worker)
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			switch status := websocket.CloseStatus(err); {
			case ctx.Err() != nil:
				conn.Close(websocket.StatusNormalClosure, "")
				return nil
			case status == websocket.StatusNormalClosure || status == websocket.StatusGoingAway:
				fmt.Fprintln(errOut, "The tail ended (the server closed it).")
				return nil
			}
			return fmt.Errorf("tail of %s: connection lost: %w", worker, err)
		}
		if f.format == "json" {
			// One item per line, compact, for tools (jq, grep).
			var buf bytes.Buffer
			if json.Compact(&buf, data) == nil {
				data = buf.Bytes()
			}
			fmt.Fprintf(out, "%s\n", data)
			continue
		}
		var it tail.Item
		if err := json.Unmarshal(data, &it); err != nil {
			fmt.Fprintf(errOut, "unreadable trace item: %v\n", err)
			continue
		}
		printItem(out, &it)
	}
}

// tailAPI calls the admin API and decodes the envelope's result into out.
func tailAPI(ctx context.Context, method, u, token string, body []byte, out any) error {
	return callV4(ctx, http.DefaultClient, "admin API", method, u, token, "application/json", bytes.NewReader(body), out)
}

// printItem writes a trace item as wrangler tail's pretty format does: a
// line for the event, then its console lines and exceptions.
func printItem(w io.Writer, it *tail.Item) {
	at := time.UnixMilli(it.EventTimestamp).Local().Format("2006-01-02 15:04:05")
	outcome := prettyOutcome(it.Outcome)
	ev := it.Event
	if ev == nil {
		ev = &tail.Event{}
	}
	obj := ""
	if it.DurableObjectID != "" {
		id := it.DurableObjectID
		if len(id) > 12 {
			id = id[:12] + "…"
		}
		obj = " [" + it.Entrypoint + " " + id
		if it.DurableObjectName != "" {
			obj += fmt.Sprintf(" %q", it.DurableObjectName)
		}
		obj += "]"
	}
	switch {
	case ev.Type == "overload":
		fmt.Fprintln(w, ev.Message)
		return
	case ev.Request != nil:
		status := ""
		if ev.Response != nil {
			status = fmt.Sprintf(" %d", ev.Response.Status)
		}
		fmt.Fprintf(w, "%s %s%s - %s%s @ %s\n", ev.Request.Method, ev.Request.URL, obj, outcome, status, at)
	case ev.RPCMethod != "":
		fmt.Fprintf(w, "%s.%s%s - %s @ %s\n", it.Entrypoint, ev.RPCMethod, obj, outcome, at)
	case ev.WebSocket != nil:
		fmt.Fprintf(w, "WebSocket %s%s - %s @ %s\n", ev.WebSocket.Type, obj, outcome, at)
	case ev.Cron != "":
		when := at
		if ms, ok := ev.ScheduledTime.(float64); ok {
			when = time.UnixMilli(int64(ms)).Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(w, "%q @ %s - %s\n", ev.Cron, when, outcome)
	case ev.ScheduledTime != nil:
		fmt.Fprintf(w, "Alarm%s @ %v - %s\n", obj, ev.ScheduledTime, outcome)
	default:
		fmt.Fprintf(w, "Unknown event%s - %s @ %s\n", obj, outcome, at)
	}
	for _, l := range it.Logs {
		parts := make([]string, len(l.Message))
		for i, m := range l.Message {
			if s, ok := m.(string); ok {
				parts[i] = s
			} else {
				b, _ := json.Marshal(m)
				parts[i] = string(b)
			}
		}
		fmt.Fprintf(w, "  (%s) %s\n", l.Level, strings.Join(parts, " "))
	}
	for _, e := range it.Exceptions {
		if e.Stack != "" {
			fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(e.Stack, "\n", "\n  "))
		} else {
			fmt.Fprintf(w, "  %s: %s\n", e.Name, e.Message)
		}
	}
}

// prettyOutcome names an outcome as wrangler tail prints it.
func prettyOutcome(o string) string {
	switch o {
	case tail.OutcomeOK:
		return "Ok"
	case tail.OutcomeCanceled:
		return "Canceled"
	case tail.OutcomeException:
		return "Exception Thrown"
	case tail.OutcomeExceededCPU:
		return "Exceeded CPU Limit"
	case tail.OutcomeExceededMemory:
		return "Exceeded Memory Limit"
	}
	return "Unknown"
}
