// Package migrations holds the database schema as numbered SQL files, applied in order by the
// store at start and by `pledge migrate`: one directory per engine, because the two dialects
// cannot share DDL (types, triggers, collations).
//
//   - sqlite/: the SQLite schema's history since the first release. These files are shipped:
//     never edit one, add a new one. Their names are their goose versions, so databases made
//     before the move into sqlite/ keep their version table as it is.
//   - postgres/: the PostgreSQL schema. 0018_schema.sql creates what the SQLite files make
//     up to their 0018, at once; later changes add a file in both directories under the same
//     number, so both engines always report the same schema version.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// FS holds the SQLite NNNN_name.sql files, at its root.
var FS = sub("sqlite")

// Postgres holds the PostgreSQL NNNN_name.sql files, at its root.
var Postgres = sub("postgres")

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err)
	}
	return f
}
