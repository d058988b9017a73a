package httpapi_test

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/domain"
)

func cacheMessage(ch domain.ChannelID, seq int64, content string) domain.Message {
	return domain.Message{ID: "msg_" + content, Channel: ch, Seq: seq, SenderID: "u_alice", Content: content, CreatedAt: testNow}
}

// Concurrent streams asking for one message share one encoding.
func TestMessageCacheEncodesOnce(t *testing.T) {
	t.Parallel()
	cache := httpapi.NewMessageCache(64)
	m := cacheMessage(domain.DMChannel("dm_1"), 7, "hi")
	const streams = 32
	results := make([][]byte, streams)
	var wg sync.WaitGroup
	for i := range streams {
		wg.Go(func() {
			b, err := cache.Encode(m)
			if err != nil {
				t.Error(err)
			}
			results[i] = b
		})
	}
	wg.Wait()
	if n := cache.Encodes(); n != 1 {
		t.Fatalf("encoded %d times, want 1", n)
	}
	for _, b := range results[1:] {
		if &b[0] != &results[0][0] {
			t.Fatal("streams got different copies of the encoding")
		}
	}
}

// Messages that share a slot replace each other and are never confused.
func TestMessageCacheCollisions(t *testing.T) {
	t.Parallel()
	cache := httpapi.NewMessageCache(1)
	a := cacheMessage(domain.DMChannel("dm_1"), 1, "a")
	b := cacheMessage(domain.GroupChannel("grp_1"), 1, "b")
	for i, m := range []domain.Message{a, b, a, a} {
		raw, err := cache.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Content string }
		if err := json.Unmarshal(raw, &got); err != nil || got.Content != m.Content {
			t.Fatalf("step %d: encoded %s for %q", i, raw, m.Content)
		}
	}
	if n := cache.Encodes(); n != 3 {
		t.Fatalf("encoded %d times, want 3 (a, b, a again, then a hit)", n)
	}
}
