// Package storage owns the SQLite database of one Durable Object: its SQL API,
// the KV API kept in the hidden _cf_KV table, and the implicit transaction that
// groups an event's writes.
//
// A DB is cheap to hold before it is used: the file is created on the first
// write, so an object that only reads costs no file. Storage sees rows and
// bytes, never JS values.
package storage
