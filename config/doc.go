// Package config reads a Worker project's wrangler configuration
// (wrangler.jsonc, wrangler.json or wrangler.toml) into a typed Config.
//
// Errors name the file and line of the offending value, so a user can fix the
// config without guessing. Keys cairn does not know are reported once through a
// warning callback and otherwise ignored, as wrangler does.
//
// Both formats are first parsed into the same JSON-like tree plus a map from
// key paths (such as "durable_objects.bindings[0].class_name") to lines; one
// decoder then checks that tree, so JSON and TOML get the same rules and the
// same messages.
package config
