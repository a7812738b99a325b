package postgres

import "net/url"

// WithDatabase returns the postgres:// URL dsn naming the database db instead of its own; a dsn
// that does not parse is returned as it is.
func WithDatabase(dsn, db string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Path = "/" + db
	return u.String()
}
