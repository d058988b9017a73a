// Package authtoken makes and checks Relay's bearer tokens: HS256 JWTs
// whose sub is the caller and whose admin claim marks a service token. The
// HTTP adapter parses them; `relay token`, `relay tail`, the load tool and
// the tests sign them. Keeping both halves here keeps the claims they
// agree on in one file, and spares clients an import of the whole HTTP
// adapter.
package authtoken
