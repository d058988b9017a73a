package domain_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/relaymsg/relay/domain"
)

// TestChannelMapActsAsAMap runs random sets, deletes and reads on a
// ChannelMap and on a Go map side by side, across the move from slice to
// map and deletes on either side of it, and wants the same answers.
func TestChannelMapActsAsAMap(t *testing.T) {
	for _, start := range []int{0, 1, 8, 9, 100} {
		t.Run(fmt.Sprint("made for ", start), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(start)))
			m := domain.MakeChannelMap[int](start)
			var zero domain.ChannelMap[int] // the zero value works too
			want := map[domain.ChannelID]int{}
			channel := func() domain.ChannelID {
				kinds := []domain.ConversationKind{domain.KindDM, domain.KindGroup, domain.ChannelUser}
				return domain.ChannelID{Kind: kinds[rng.IntN(3)], ID: domain.ConversationID(fmt.Sprint(rng.IntN(12)))}
			}
			for i := range 2000 {
				ch := channel()
				switch op := rng.IntN(10); {
				case op < 5:
					m.Set(ch, i)
					zero.Set(ch, i)
					want[ch] = i
				case op < 8:
					m.Delete(ch)
					zero.Delete(ch)
					delete(want, ch)
				default:
					v, ok := m.Get(ch)
					w, wok := want[ch]
					if v != w || ok != wok || m.Has(ch) != wok {
						t.Fatalf("step %d: Get(%v) = %d, %v; want %d, %v", i, ch, v, ok, w, wok)
					}
				}
				for _, got := range []*domain.ChannelMap[int]{&m, &zero} {
					if got.Len() != len(want) {
						t.Fatalf("step %d: Len %d, want %d", i, got.Len(), len(want))
					}
					if all := maps.Collect(got.All()); !maps.Equal(all, want) {
						t.Fatalf("step %d: All gives %v, want %v", i, all, want)
					}
				}
			}
		})
	}
}

// TestChannelMapAllStops: All ends when the loop breaks, in both forms.
func TestChannelMapAllStops(t *testing.T) {
	for _, n := range []int{3, 20} {
		m := domain.MakeChannelMap[bool](0)
		for i := range n {
			m.Set(domain.GroupChannel(domain.ConversationID(fmt.Sprint("grp_", i))), true)
		}
		seen := 0
		for range m.All() {
			seen++
			if seen == 2 {
				break
			}
		}
		if seen != 2 {
			t.Fatalf("%d channels: the loop saw %d after its break at 2", n, seen)
		}
	}
}
