// Package migrations holds the database schema as numbered SQL files, applied in order by the
// store at start and by `pledge migrate`.
package migrations

import "embed"

// FS holds the NNNN_name.sql files.
//
//go:embed *.sql
var FS embed.FS
