// Package d1 implements Cloudflare D1 databases on SQLite: the database
// model behind the Worker binding (env.DB), the REST API and `cairn d1`.
//
// # Model
//
// A database is one SQLite file, <persist>/<worker>/d1/<id>.sqlite, where
// id is the config's database_id (or database_name) or the uuid of a
// database made with Manager.Create. A Manager owns the databases of one
// Worker and opens each once.
//
// A DB runs Statements. Batch runs a list of them as one unit (spec 62):
//
//   - If every statement is read-only, the batch runs on one of a few
//     reader connections, inside one read transaction: it sees one
//     committed snapshot (WAL), and runs concurrently with other reads and
//     with the one write in progress.
//   - Otherwise it runs on the single writer connection, one write batch at
//     a time, in a BEGIN IMMEDIATE transaction. If any statement fails, the
//     transaction is rolled back and nothing of the batch remains. If all
//     succeed, DB.commit advances the commit sequence (stored in the file,
//     in the same transaction) and commits; DB.commit is the one place a
//     commit happens. The batch returns only once its commit is durable.
//
// Durability depends on Options.Commit. With a commit log (as under
// `cairn dev`, where it is shared with the Worker's objects and KV
// namespaces), the writer runs synchronous=NORMAL: COMMIT appends to the
// WAL without fsync, and the batch waits (DB.settle) until the log has
// synced the WAL, one fsync serving every commit of its round; a read
// hands nothing out before every commit it may have seen is durable.
// Without one (the `cairn d1` commands on local files), the writer runs
// synchronous=FULL and SQLite fsyncs each commit before COMMIT returns.
//
// Every query runs in such a transaction (D1's implicit auto-commit); user
// SQL cannot BEGIN, COMMIT or SAVEPOINT, ATTACH, create TEMP objects, or
// touch the hidden _cf_ tables (_cf_METADATA holds the commit sequence, the
// uuid and the name). Foreign keys are enforced; PRAGMA defer_foreign_keys
// lasts for the batch. Limits follow D1's (spec 7.9): 2,000,000-byte
// values, 100,000-byte statements, 100 parameters, 100 columns.
//
// # Bookmarks and sessions
//
// A bookmark (see bookmark.go) encodes a commit sequence number and the
// database; string order is history order. Every Batch returns the bookmark
// of the state it saw (reads: a lower bound of their snapshot) or made
// (writes). A Batch given a bookmark waits until the database holds that
// state; on the primary that is immediate, and a replica would wait for its
// applied sequence to reach it (spec 67–69).
//
// # Results and errors
//
// Results carry rows as Go values (nil, int64, float64, string, []byte) and
// D1's meta (changes, last_row_id, changed_db, size_after, rows_read,
// rows_written, duration). Errors are *Error, whose Error() is the message
// the binding throws: "D1_ERROR: " + SQLite's message + ": SQLITE_<CODE>";
// BatchError, ExecError, ImportError and MigrationError add where it failed.
//
// # Import, export, migrations
//
// Export streams a snapshot as SQL text; Import streams SQL text through a
// Splitter into one transaction (a broken statement halfway leaves the
// database as before), so neither needs memory proportional to the data.
// Migrations follow wrangler's directory layout and d1_migrations table,
// each migration atomic with its record.
package d1
