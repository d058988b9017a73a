// Package clustertest checks a cluster.Transport: it runs the Notifier
// contract suite (ports/notifiertest) against a cluster.Notifier over the
// transport, as one instance and as two instances that publish on one and
// subscribe on the other, plus the checks that only a cross-instance
// notifier needs (a new subscription is resynced; an instance does not
// deliver its own events twice).
//
// Every transport (Redis, PostgreSQL) calls Run from its own tests against
// its real server. Proxy, a loopback TCP proxy that can cut or stall its
// connections, lets those tests and the black-box tests cause an outage of
// that server that other tests sharing it do not see.
package clustertest
