// Package notifiertest is the contract test suite of ports.Notifier. Every
// adapter (in-process, Redis, PostgreSQL LISTEN/NOTIFY) runs it from its own
// tests with Run, so that they all behave alike where the application
// depends on it.
//
// The suite allows asynchronous delivery: every assertion that something
// arrives waits for it up to Timeout, and an assertion that something did
// not arrive publishes a sentinel afterwards and checks that the sentinel
// comes first. It makes no assertion about timing. It ignores
// domain.EventResync and domain.EventHead events, which a notifier may emit
// at any time (after a reconnect, say, or now and then) without breaking
// the contract.
package notifiertest
