package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/server"
)

// d1Flags are the flags every `cairn d1` command shares.
type d1Flags struct {
	projectFlags
	remote   string // admin API URL: work on a running cairn instead of the local state
	apiToken string
	account  string
}

// d1Target is the project and database a command works on.
type d1Target struct {
	cfg     *config.Config
	manager *d1.Manager
}

func (f *d1Flags) open(cmd *cobra.Command) (*d1Target, error) {
	cfg, persist, err := f.project(func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "warning:", msg) })
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return &d1Target{cfg: cfg, manager: d1.NewManager(server.D1Dir(persist, cfg.Name), log)}, nil
}

// db resolves a database named on the command line: a binding or
// database_name of the config, or a database created with `cairn d1 create`
// (by name or uuid). It also returns the migrations directory.
func (t *d1Target) db(name string) (*d1.DB, string, error) {
	for _, b := range t.cfg.D1Databases {
		if b.Binding == name || b.DatabaseName == name || b.DatabaseID == name {
			db, err := t.manager.Open(server.D1ID(b), b.DatabaseName)
			return db, b.MigrationsDir, err
		}
	}
	db, err := t.manager.Lookup(name)
	if errors.Is(err, d1.ErrNotFound) {
		return nil, "", fmt.Errorf("no D1 database %q: not a binding or database_name in %s, nor created with `cairn d1 create` (see `cairn d1 list`)", name, filepath.Base(t.cfg.File))
	}
	return db, filepath.Join(t.cfg.Dir, "migrations"), err
}

func newD1Command() *cobra.Command {
	f := &d1Flags{}
	cmd := &cobra.Command{
		Use:   "d1",
		Short: "Manage D1 databases in the local state directory (or a running cairn with --remote)",
		Long: `Create, query, import, export and migrate the D1 databases of a Worker project,
in the state directory "cairn dev" uses (--persist-to, default .cairn/state in the project).
A database is named by its binding or database_name in the config, or by the name or uuid
given to "cairn d1 create". With --remote, the commands act on a running cairn through
its D1 REST API instead.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVarP(&f.config, "config", "c", ".", "config file or project directory")
	pf.StringVar(&f.persistTo, "persist-to", "", "state directory (default .cairn/state in the project)")
	pf.StringVar(&f.remote, "remote", "", "work on a running cairn through its admin API at this URL (cairn dev --api-port)")
	pf.StringVar(&f.apiToken, "api-token", "", "bearer token of the admin API (default $CAIRN_API_TOKEN)")
	pf.StringVar(&f.account, "account", "local", "account id in the API's paths")
	cmd.AddCommand(d1Create(f), d1List(f), d1Info(f), d1Delete(f), d1Execute(f), d1Export(f), d1Import(f), d1Migrations(f), d1TimeTravel(f))
	return cmd
}

// withBackend runs fn on the remote API (r set, t nil) with --remote, else
// on the local state directory (t set, r nil).
func withBackend(f *d1Flags, cmd *cobra.Command, fn func(t *d1Target, r *remoteD1) error) error {
	if f.remote != "" {
		r, err := f.remoteClient()
		if err != nil {
			return err
		}
		return fn(nil, r)
	}
	return withTarget(f, cmd, func(t *d1Target) error { return fn(t, nil) })
}

// remoteImportFile imports a SQL file through the REST API's import protocol.
func remoteImportFile(cmd *cobra.Command, r *remoteD1, name, path string, asJSON bool) error {
	start := time.Now()
	res, err := r.importSQL(cmd.Context(), name, func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return fmt.Errorf("%s: %w; nothing was applied", path, err)
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), res)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Executed %v statements in %s.\n", res["num_queries"], time.Since(start).Round(time.Millisecond))
	return nil
}

// withTarget runs fn with the project opened and closes its databases.
func withTarget(f *d1Flags, cmd *cobra.Command, fn func(t *d1Target) error) error {
	t, err := f.open(cmd)
	if err != nil {
		return err
	}
	return errors.Join(fn(t), t.manager.Close())
}

func d1Create(f *d1Flags) *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create a database",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				var info d1.Info
				var err error
				if r != nil {
					info, err = r.create(cmd.Context(), args[0])
				} else {
					info, err = t.manager.Create(args[0])
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Created D1 database %q (%s).\nAdd it to your config:\n\n", info.Name, info.UUID)
				fmt.Fprintf(cmd.OutOrStdout(), "  \"d1_databases\": [\n    { \"binding\": \"DB\", \"database_name\": %q, \"database_id\": %q }\n  ]\n", info.Name, info.UUID)
				return nil
			})
		},
	}
}

func d1List(f *d1Flags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List databases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				var infos []d1.Info
				var err error
				if r != nil {
					infos, err = r.list(cmd.Context())
				} else {
					infos, err = t.manager.List()
				}
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), infos)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "uuid\tname\tcreated_at\ttables\tsize")
				for _, i := range infos {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", i.UUID, i.Name, i.CreatedAt.Format(time.RFC3339), i.NumTables, i.FileSize)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func d1Info(f *d1Flags) *cobra.Command {
	return &cobra.Command{
		Use:   "info NAME",
		Short: "Show a database's uuid, name, size and tables (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				var info d1.Info
				if r != nil {
					id, _ := r.resolve(args[0])
					if err := r.call(cmd.Context(), "GET", "/"+url.PathEscape(id), nil, &info); err != nil {
						return err
					}
				} else {
					db, _, err := t.db(args[0])
					if err != nil {
						return err
					}
					if info, err = db.Info(); err != nil {
						return err
					}
				}
				return writeJSON(cmd.OutOrStdout(), info)
			})
		},
	}
}

func d1Delete(f *d1Flags) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a database and its data",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return errors.New("deleting a database removes its data: pass --yes (-y) to confirm")
			}
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				if r != nil {
					info, err := r.delete(cmd.Context(), args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Deleted D1 database %q (%s).\n", info.Name, info.UUID)
					return nil
				}
				db, _, err := t.db(args[0])
				if err != nil {
					return err
				}
				info, err := db.Info()
				if err != nil {
					return err
				}
				if err := t.manager.Delete(info.UUID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted D1 database %q (%s).\n", info.Name, info.UUID)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "confirm deleting the database and its data (required)")
	return cmd
}

func d1Execute(f *d1Flags) *cobra.Command {
	var (
		command, file string
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "execute NAME (--command SQL | --file FILE)",
		Short: "Run SQL on a database",
		Long: `Run SQL on a database. --command runs its statements as one batch and prints their
results; --file runs a SQL file (any size, read as a stream) in one transaction: if a
statement fails, nothing of the file is applied.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (command == "") == (file == "") {
				return errors.New("give exactly one of --command or --file")
			}
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				if r != nil {
					if file != "" {
						return remoteImportFile(cmd, r, args[0], file, asJSON)
					}
					raw, res, err := r.query(cmd.Context(), args[0], command, asJSON)
					if err != nil {
						return err
					}
					if asJSON {
						var v any
						_ = json.Unmarshal(raw, &v)
						return writeJSON(cmd.OutOrStdout(), v)
					}
					for _, x := range res {
						printResult(cmd.OutOrStdout(), x)
					}
					return nil
				}
				db, _, err := t.db(args[0])
				if err != nil {
					return err
				}
				if file != "" {
					return importFile(cmd, db, file, asJSON)
				}
				stmts, err := d1.SplitStatements(command)
				if err != nil {
					return err
				}
				batch := make([]d1.Statement, len(stmts))
				for i, s := range stmts {
					batch[i] = d1.Statement{SQL: s}
				}
				res, _, err := db.Batch(cmd.Context(), batch, "")
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), server.D1Results(res))
				}
				for _, r := range res {
					printResult(cmd.OutOrStdout(), r)
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&command, "command", "", "SQL to run (several statements are separated by ';')")
	fl.StringVar(&file, "file", "", "SQL file to run")
	fl.BoolVar(&asJSON, "json", false, "print results as JSON (D1's REST result shape)")
	return cmd
}

// printResult prints a result's rows as a table, or its changes.
func printResult(w io.Writer, r d1.Result) {
	if len(r.Columns) == 0 {
		fmt.Fprintf(w, "%d row(s) changed (%.2f ms)\n", r.Meta.Changes, r.Meta.Duration)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(r.Columns, "\t"))
	for _, row := range r.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			switch x := v.(type) {
			case nil:
				cells[i] = "NULL"
			case []byte:
				cells[i] = fmt.Sprintf("X'%X'", x)
			default:
				cells[i] = fmt.Sprint(x)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "(%d row(s), %.2f ms)\n", len(r.Rows), r.Meta.Duration)
}

// isTerminal reports whether f is a character device (progress is shown
// only there).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// importFile runs a SQL file in one transaction, showing progress on a
// terminal.
func importFile(cmd *cobra.Command, db *d1.DB, path string, asJSON bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var progress func(int64)
	if isTerminal(os.Stderr) {
		start := time.Now()
		progress = func(n int64) {
			fmt.Fprintf(os.Stderr, "\r%d statements (%.0f/s)", n, float64(n)/time.Since(start).Seconds())
		}
	}
	start := time.Now()
	st, err := db.Import(cmd.Context(), bufio.NewReaderSize(f, 1<<20), progress)
	if progress != nil {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w; nothing was applied", path, err)
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), map[string]any{"num_queries": st.Statements, "changes": st.Changes, "final_bookmark": st.Bookmark})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Executed %d statements (%d rows changed) in %s.\n", st.Statements, st.Changes, time.Since(start).Round(time.Millisecond))
	return nil
}

func d1Import(f *d1Flags) *cobra.Command {
	return &cobra.Command{
		Use:   "import NAME FILE",
		Short: "Import a SQL dump into a database (all or nothing)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				if r != nil {
					return remoteImportFile(cmd, r, args[0], args[1], false)
				}
				db, _, err := t.db(args[0])
				if err != nil {
					return err
				}
				return importFile(cmd, db, args[1], false)
			})
		},
	}
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func d1Export(f *d1Flags) *cobra.Command {
	var (
		output           string
		tables           []string
		noData, noSchema bool
	)
	cmd := &cobra.Command{
		Use:   "export NAME --output FILE",
		Short: "Export a database as SQL",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return errors.New("--output is required (use - for stdout)")
			}
			if noData && noSchema {
				return errors.New("--no-data and --no-schema together leave nothing to export")
			}
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				opts := d1.ExportOptions{Tables: tables, NoData: noData, NoSchema: noSchema}
				export := func(w io.Writer) error {
					if r != nil {
						return r.export(cmd.Context(), args[0], w, opts)
					}
					db, _, err := t.db(args[0])
					if err != nil {
						return err
					}
					return db.Export(cmd.Context(), w, opts)
				}
				var err error
				var out io.Writer = cmd.OutOrStdout()
				var file *os.File
				if output != "-" {
					if file, err = os.Create(output); err != nil {
						return err
					}
					out = file
				}
				cw := &countingWriter{w: out}
				done := make(chan struct{})
				if output != "-" && isTerminal(os.Stderr) {
					go func() {
						tick := time.NewTicker(200 * time.Millisecond)
						defer tick.Stop()
						for {
							select {
							case <-done:
								return
							case <-tick.C:
								fmt.Fprintf(os.Stderr, "\r%.1f MB written", float64(cw.n.Load())/1e6)
							}
						}
					}()
				}
				err = export(cw)
				close(done)
				if file != nil {
					err = errors.Join(err, file.Sync(), file.Close())
					if err != nil {
						os.Remove(output)
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "\rExported %.1f MB to %s.\n", float64(cw.n.Load())/1e6, output)
				}
				return err
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&output, "output", "", "file to write (- for stdout)")
	fl.StringArrayVar(&tables, "table", nil, "export only this table (repeatable)")
	fl.BoolVar(&noData, "no-data", false, "export the schema only")
	fl.BoolVar(&noSchema, "no-schema", false, "export the data only")
	return cmd
}

func d1Migrations(f *d1Flags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrations",
		Short: "Create, list and apply migrations (wrangler's layout and d1_migrations table)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME MESSAGE",
		Short: "Create the next migration file",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				var dir string
				if r != nil {
					_, dir = r.resolve(args[0])
				} else {
					var err error
					if _, dir, err = t.db(args[0]); err != nil {
						return err
					}
				}
				path, err := d1.CreateMigration(dir, args[1])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Created %s\n", path)
				return nil
			})
		},
	}, &cobra.Command{
		Use:   "list NAME",
		Short: "List migrations not applied yet",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				var pending []string
				if r != nil {
					var err error
					if _, pending, err = r.pendingMigrations(cmd.Context(), args[0]); err != nil {
						return err
					}
				} else {
					db, dir, err := t.db(args[0])
					if err != nil {
						return err
					}
					list, err := d1.ListMigrations(cmd.Context(), db, dir, "")
					if err != nil {
						return err
					}
					for _, m := range list {
						if !m.Applied {
							pending = append(pending, m.Name)
						}
					}
				}
				for _, name := range pending {
					fmt.Fprintln(cmd.OutOrStdout(), name)
				}
				if len(pending) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "No migrations to apply.")
				}
				return nil
			})
		},
	}, &cobra.Command{
		Use:   "apply NAME",
		Short: "Apply the migrations not applied yet, each atomically",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBackend(f, cmd, func(t *d1Target, r *remoteD1) error {
				done := func(name string) { fmt.Fprintf(cmd.OutOrStdout(), "Applied %s\n", name) }
				var applied []string
				var err error
				if r != nil {
					applied, err = r.applyMigrations(cmd.Context(), args[0], done)
				} else {
					db, dir, derr := t.db(args[0])
					if derr != nil {
						return derr
					}
					applied, err = d1.ApplyMigrations(cmd.Context(), db, dir, "", done)
				}
				if err != nil {
					return fmt.Errorf("%w (the database is as it was before this migration)", err)
				}
				if len(applied) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "No migrations to apply.")
				}
				return nil
			})
		},
	})
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
