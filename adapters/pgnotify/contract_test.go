package pgnotify_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/pgnotify"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestContract runs the notifier contract over LISTEN/NOTIFY, as one
// instance and as two that publish on one and subscribe on the other. The
// suite has no store, so the transports notify messages themselves
// (StoreNotifies is false). They share one database, which NOTIFY does not
// cross; each test's namespace is its own PostgreSQL channel.
func TestContract(t *testing.T) {
	pgtest.SkipIfShort(t)
	db, dsn := pgtest.NewDatabase(t)
	clustertest.Run(t, func(t *testing.T, namespace string) cluster.Transport {
		tr, err := pgnotify.NewTransport(db, pgnotify.Options{DSN: dsn, Channel: "relay_" + namespace})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	})
}
