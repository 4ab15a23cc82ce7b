// Command cairn runs Cloudflare-Workers-style applications — a fetch
// handler, Durable Objects with SQLite storage, D1 databases and Workers KV
// — from one Go binary.
//
// Usage:
//
//	cairn dev [dir-or-config] [--port 8787] [--ip 127.0.0.1] [--persist-to DIR] [--var KEY:VALUE]...
//	          [--no-watch] [--object-idle 70s] [--hibernate-idle 10s] [--alarm-retry 2s]
//	          [--websocket-max-message BYTES] [--max-body-size BYTES] [--max-bodies-in-flight BYTES] [--api-port N [--api-token T]] [--private-fetch=false]
//	cairn serve [--config cairn.toml] [--data-dir DIR] [--http ADDR] [--https ADDR --tls-cert F --tls-key F]
//	            [--admin ADDR [--admin-token T]] [--shutdown-timeout 30s] [--log-format text|json]
//	cairn objects list BINDING-OR-CLASS [--json] [--remote URL [--api-token T]]
//	cairn kv namespace list
//	cairn kv key list [--prefix P] (--binding NAME | --namespace-id ID)
//	cairn kv key get KEY (--binding NAME | --namespace-id ID)
//	cairn kv key put KEY [VALUE | --path FILE|-] [--ttl S] [--expiration T] [--metadata JSON] (--binding NAME | --namespace-id ID)
//	cairn kv key delete KEY (--binding NAME | --namespace-id ID)
//	cairn r2 bucket list
//	cairn r2 object get BUCKET/KEY [--file F]
//	cairn r2 object put BUCKET/KEY (--file F | --pipe) [--content-type T]
//	cairn r2 object delete BUCKET/KEY
//	cairn d1 create NAME
//	cairn d1 list [--json]
//	cairn d1 info NAME
//	cairn d1 delete NAME --yes
//	cairn d1 execute NAME (--command SQL | --file FILE) [--json]
//	cairn d1 export NAME --output FILE|- [--table T]... [--no-data | --no-schema]
//	cairn d1 import NAME FILE
//	cairn d1 migrations create NAME MESSAGE
//	cairn d1 migrations list NAME
//	cairn d1 migrations apply NAME
//	cairn deploy [dir-or-config] --to URL --token T [--message M]
//	cairn versions list [--json] --remote URL --token T [-c DIR-OR-CONFIG | --name WORKER]
//	cairn rollback [VERSION_ID] [--message M] --remote URL --token T [-c DIR-OR-CONFIG | --name WORKER]
//	cairn backup --to DIR|s3://BUCKET/PREFIX [--remote URL [--api-token T]] [--endpoint URL]
//	cairn restore --from DIR|s3://BUCKET/PREFIX [--force] [--endpoint URL]
//	cairn tail [worker] --remote URL [--token T] [--format pretty|json] [--status ok|error|canceled]...
//	          [--method M]... [--header K[:V]] [--search TEXT] [--ip IP]... [--version-id V] [--sampling-rate R]
//	cairn version
//	cairn completion bash|fish|powershell|zsh
//	cairn help [command]
//
// The objects, kv, r2 and d1 commands work on a project's state directory:
// they take -c DIR-OR-CONFIG (default ".") and --persist-to DIR (default
// .cairn/state in the project, as cairn dev). The d1 commands also take
// --remote URL [--api-token T] [--account ID] to act on a running cairn
// through its admin API (cairn dev --api-port) instead.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at link time with -ldflags "-X main.version=…"; without
// it, the VCS revision the binary was built from is shown.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// gcPercent is cairn's default GOGC. The JS engine allocates a lot of
// short-lived objects per request; collecting less often raised stateless
// throughput ~18% and SQL reads ~40% at 16 connections (bench/cmd/compare),
// for a heap up to 5x the live set. An explicit GOGC wins.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	servePprof()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "cairn",
		Short:         "Run Cloudflare Workers, Durable Objects, D1 and Workers KV on your own machines",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDevCommand(), newServeCommand(), newKVCommand(), newR2Command(), newD1Command(), newObjectsCommand(), newVersionCommand(),
		newDeployCommand(), newVersionsCommand(), newRollbackCommand(), newBackupCommand(), newRestoreCommand(), newTailCommand())
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "cairn:", err)
		os.Exit(1)
	}
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the cairn version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "cairn %s (%s)\n", versionString(), goruntime.Version())
		},
	}
}
