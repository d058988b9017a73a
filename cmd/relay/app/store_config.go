package app

import (
	"net/url"
	"strings"
)

// DefaultSQLitePath is the database file when DATABASE_URL is unset: an
// embedded SQLite database in the working directory, so that Relay runs
// with nothing else installed.
const DefaultSQLitePath = "relay.db"

// sqlitePrefixes are the forms of DATABASE_URL that name an SQLite file,
// longest first so that sqlite:// is not read as sqlite: plus "//".
var sqlitePrefixes = []string{"sqlite://", "sqlite:", "file:"}

// store reads DATABASE_URL: unset, the SQLite file DefaultSQLitePath;
// sqlite:PATH, sqlite://PATH or file:PATH, that SQLite file; postgres://
// or postgresql://, that PostgreSQL database. It returns the PostgreSQL DSN
// or the SQLite path, the other one empty.
func (r *envReader) store(name string) (dsn, sqlitePath string) {
	v, ok := r.get(name)
	if !ok {
		return "", DefaultSQLitePath
	}
	for _, prefix := range sqlitePrefixes {
		if path, ok := strings.CutPrefix(v, prefix); ok {
			if path == "" || strings.ContainsAny(path, "?#") {
				r.fail(name, "must name an SQLite file without ? or # (for example sqlite:relay.db)")
			}
			return "", path
		}
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		r.fail(name, "must be a postgres:// URL with a host, or sqlite:PATH (unset: the SQLite file "+DefaultSQLitePath+")")
	}
	return v, ""
}
