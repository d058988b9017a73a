package redis_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/redis"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestContract runs the notifier contract over Redis, as one instance and
// as two that publish on one and subscribe on the other.
func TestContract(t *testing.T) {
	url := redisURL(t)
	admin(t)
	clustertest.Run(t, func(t *testing.T, namespace string) cluster.Transport {
		tr, err := redis.NewTransport(redis.Options{URL: url, Prefix: "relaytest:" + namespace + ":"})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	})
}
