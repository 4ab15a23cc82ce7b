package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/server"
)

// d1TimeTravel is `cairn d1 time-travel info|restore`: D1 Time Travel
// (spec 3.6, 70) on the local state directory, or on a running cairn with
// --remote through the REST API wrangler uses.
func d1TimeTravel(f *d1Flags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "time-travel",
		Short: "Find a database's bookmark for a past moment, and restore the database to it",
		Long: `Every commit of a D1 database is kept in its history (the state directory's history/
folder) for the retention window (cairn dev --history-retention, default 30 days). "info"
gives the bookmark of the state at a moment, "restore" brings the database back to a bookmark
or a moment, and prints the bookmark that undoes the restore. Locally the state directory
must not be in use by a running cairn: use --remote with its --api-port then.`,
	}
	cmd.AddCommand(d1TimeTravelInfo(f), d1TimeTravelRestore(f))
	return cmd
}

func d1TimeTravelInfo(f *d1Flags) *cobra.Command {
	var timestamp string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info NAME",
		Short: "Print the bookmark of the database's state at --timestamp (default: now)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var bookmark string
			err := withTimeTravel(f, cmd, args[0], func(db *d1.DB, r *remoteD1, id string) error {
				if r != nil {
					q := url.Values{}
					if timestamp != "" {
						q.Set("timestamp", timestamp)
					}
					var res struct{ Bookmark string }
					err := r.call(cmd.Context(), "GET", "/"+url.PathEscape(id)+"/time_travel/bookmark?"+q.Encode(), nil, &res)
					bookmark = res.Bookmark
					return err
				}
				var t time.Time
				if timestamp != "" {
					var err error
					if t, err = server.ParseTimestamp(timestamp); err != nil {
						return err
					}
				}
				var err error
				bookmark, err = db.BookmarkAt(t)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"bookmark": bookmark})
			}
			if timestamp != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "Timestamp %s corresponds with bookmark %s\n", timestamp, bookmark)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "The current bookmark is %s\n", bookmark)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "To restore to it: cairn d1 time-travel restore %s --bookmark=%s\n", args[0], bookmark)
			return nil
		},
	}
	cmd.Flags().StringVar(&timestamp, "timestamp", "", "a moment: RFC 3339 (2024-07-13T08:46:42.228Z) or Unix seconds")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {\"bookmark\"} as JSON")
	return cmd
}

func d1TimeTravelRestore(f *d1Flags) *cobra.Command {
	var bookmark, timestamp string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "restore NAME (--bookmark B | --timestamp T)",
		Short: "Restore the database to a bookmark or a moment; prints the bookmark that undoes it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (bookmark == "") == (timestamp == "") {
				return errors.New("give exactly one of --bookmark and --timestamp")
			}
			var res struct {
				Bookmark         string `json:"bookmark"`
				PreviousBookmark string `json:"previous_bookmark"`
				Message          string `json:"message"`
			}
			err := withTimeTravel(f, cmd, args[0], func(db *d1.DB, r *remoteD1, id string) error {
				if r != nil {
					q := url.Values{}
					if bookmark != "" {
						q.Set("bookmark", bookmark)
					} else {
						q.Set("timestamp", timestamp)
					}
					return r.call(cmd.Context(), "POST", "/"+url.PathEscape(id)+"/time_travel/restore?"+q.Encode(), nil, &res)
				}
				target := bookmark
				if timestamp != "" {
					t, err := server.ParseTimestamp(timestamp)
					if err != nil {
						return err
					}
					if target, err = db.BookmarkAt(t); err != nil {
						return err
					}
				}
				var err error
				res.Bookmark, res.PreviousBookmark, err = db.Restore(cmd.Context(), target)
				res.Message = "Database restored to bookmark " + target
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Database %s restored; its bookmark is now %s\nTo undo: cairn d1 time-travel restore %s --bookmark=%s\n", args[0], res.Bookmark, args[0], res.PreviousBookmark)
			return nil
		},
	}
	cmd.Flags().StringVar(&bookmark, "bookmark", "", "the bookmark to restore to (from info, a session, or a previous restore)")
	cmd.Flags().StringVar(&timestamp, "timestamp", "", "the moment to restore to: RFC 3339 or Unix seconds")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {\"bookmark\",\"previous_bookmark\",\"message\"} as JSON")
	return cmd
}

// withTimeTravel runs fn on the remote API (r set) with --remote, else on
// the local database with its history: the state directory locked (a
// running cairn owns it), the database opened with a commit log that keeps
// records, so a restore is itself recorded.
func withTimeTravel(f *d1Flags, cmd *cobra.Command, name string, fn func(db *d1.DB, r *remoteD1, id string) error) error {
	if f.remote != "" {
		r, err := f.remoteClient()
		if err != nil {
			return err
		}
		id, _ := r.resolve(name)
		return fn(nil, r, id)
	}
	cfg, persist, err := f.project(func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "warning:", msg) })
	if err != nil {
		return err
	}
	locks := &server.StateLocks{}
	if err := locks.Lock(filepath.Join(persist, cfg.Name)); err != nil {
		return fmt.Errorf("%w: stop it, or use --remote with its admin API (cairn dev --api-port)", err)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	durable := commit.NewLocal(0)
	hs := server.NewHistories(persist, cfg.Name, server.RetentionsOf(cfg, 0), log)
	durable.SetHistories(hs)
	t := &d1Target{cfg: cfg, manager: d1.NewManager(server.D1Dir(persist, cfg.Name), log)}
	t.manager.Commit, t.manager.Histories = durable, hs
	db, _, err := t.db(name)
	if err == nil {
		err = fn(db, nil, "")
	}
	return errors.Join(err, t.manager.Close(), durable.Close(), hs.Close(), locks.Close())
}
