// Package config reads a Worker project's wrangler configuration
// (wrangler.jsonc, wrangler.json or wrangler.toml) into a typed Config.
//
// Errors name the file and line of the offending value, so a user can fix the
// config without guessing. Keys cairn does not know are reported once through a
// warning callback and otherwise ignored, as wrangler does.
package config
