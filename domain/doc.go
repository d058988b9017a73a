// Package domain holds Relay's entities and rules: conversations (direct
// messages and groups), their members, messages, channel identifiers, the
// multi-channel resume cursor, stream events and the domain errors. It
// imports only the standard library; every other package depends on it.
package domain
