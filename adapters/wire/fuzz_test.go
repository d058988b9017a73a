package wire_test

import (
	"errors"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/wire"
	"github.com/relaymsg/relay/domain"
)

// FuzzDecode checks that Decode never panics, fails only with its own
// errors, and that whatever it accepts encodes back to the same envelope.
func FuzzDecode(f *testing.F) {
	for _, ev := range []domain.Event{
		message(dm, 17, "hi"),
		message(group, 1, "<&> é"),
		domain.MemberRemovedEvent(group, "u_bob"),
		{Kind: domain.EventResync, Channel: dm},
		domain.MemberJoinedEvent("a:b", group, 3),
		domain.ReadMovedEvent("u_1", dm, 9, 4),
	} {
		b, err := wire.Encode(ev, "inst")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"k":"m","c":"dm:dm_x","s":3,"partial":true}`))
	f.Add([]byte(`{"v":2,"c":"dm:dm_x"}`))
	f.Add([]byte(`{"v":1,"k":"m","c":"dm:dm_x","s":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := wire.Decode(b)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) && !errors.Is(err, wire.ErrUnsupportedVersion) {
				t.Fatalf("Decode(%q) = %v, neither ErrMalformed nor ErrUnsupportedVersion", b, err)
			}
			return
		}
		if env.Partial {
			return // not something Encode produces from an event
		}
		again, err := wire.Encode(env.Event, env.Origin)
		if err != nil {
			t.Fatalf("Decode(%q) accepted %+v, which Encode rejects: %v", b, env, err)
		}
		env2, err := wire.Decode(again)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)) = %v", env, err)
		}
		if env2.Origin != env.Origin || !equal(env2.Event, env.Event) {
			t.Fatalf("round trip changed %+v into %+v", env, env2)
		}
	})
}

// FuzzRoundTrip checks that every message event Encode accepts decodes to
// itself.
func FuzzRoundTrip(f *testing.F) {
	f.Add("msg_1", "dm_x", int64(1), "u_a", "p_1", "hi", "c-1", int64(1735787045123456789), "inst")
	f.Add("", "grp_y", int64(0), "", "", "", "", int64(0), "")
	f.Fuzz(func(t *testing.T, id, conv string, seq int64, sender, persona, content, clientID string, unixNano int64, origin string) {
		ch := domain.GroupChannel(domain.ConversationID(conv))
		ev := domain.MessageEvent(domain.Message{
			ID: id, Channel: ch, Seq: seq, SenderID: domain.UserID(sender), PersonaID: persona,
			Content: content, ClientMessageID: clientID, CreatedAt: time.Unix(0, unixNano),
		})
		b, err := wire.Encode(ev, origin)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("Encode = %v, want ErrMalformed", err)
			}
			return
		}
		env, err := wire.Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)) = %v", ev, err)
		}
		if env.Origin != origin || env.Partial || !equal(env.Event, ev) {
			t.Fatalf("round trip changed %+v into %+v", ev, env)
		}
	})
}
