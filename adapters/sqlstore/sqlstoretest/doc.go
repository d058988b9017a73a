// Package sqlstoretest holds the checks that every database of
// adapters/sqlstore runs against its own migrations, beside the ports'
// contract suite (ports/repotest), for what only SQL can set up: rows
// stored by an older schema, say.
package sqlstoretest
