// Package application holds Relay's use cases, one per file. Each depends
// only on the domain and on the ports; the adapters supply the ports and
// drive the use cases.
package application
