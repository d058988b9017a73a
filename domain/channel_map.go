package domain

import "iter"

// fewChannels is how many channels a ChannelMap keeps in its slice before
// it moves them to a map: up to about this size a scan of the slice is as
// fast as a map look-up.
const fewChannels = 8

// ChannelMap maps channels to values, cheaply when it holds few. Most
// streams and subscriptions are of one channel or a handful, and each is
// held for as long as its client stays connected, by the thousand: a Go
// map costs a few hundred bytes however little it holds, so up to
// fewChannels entries live in a slice, scanned in order, and past that in
// a map. Its zero value is empty and ready to use. Like a map, it is not
// safe for concurrent writes; the order of All is unspecified.
type ChannelMap[V any] struct {
	few  []channelEntry[V]
	many map[ChannelID]V
}

type channelEntry[V any] struct {
	ch ChannelID
	v  V
}

// MakeChannelMap returns a ChannelMap ready for n channels.
func MakeChannelMap[V any](n int) ChannelMap[V] {
	if n > fewChannels {
		return ChannelMap[V]{many: make(map[ChannelID]V, n)}
	}
	return ChannelMap[V]{few: make([]channelEntry[V], 0, n)}
}

// Get returns ch's value and whether ch is in m.
func (m *ChannelMap[V]) Get(ch ChannelID) (V, bool) {
	if m.many != nil {
		v, ok := m.many[ch]
		return v, ok
	}
	for i := range m.few {
		if m.few[i].ch == ch {
			return m.few[i].v, true
		}
	}
	var zero V
	return zero, false
}

// Has reports whether ch is in m.
func (m *ChannelMap[V]) Has(ch ChannelID) bool {
	_, ok := m.Get(ch)
	return ok
}

// Set maps ch to v.
func (m *ChannelMap[V]) Set(ch ChannelID, v V) {
	if m.many != nil {
		m.many[ch] = v
		return
	}
	for i := range m.few {
		if m.few[i].ch == ch {
			m.few[i].v = v
			return
		}
	}
	if len(m.few) < fewChannels {
		m.few = append(m.few, channelEntry[V]{ch, v})
		return
	}
	m.many = make(map[ChannelID]V, 2*fewChannels)
	for _, e := range m.few {
		m.many[e.ch] = e.v
	}
	m.many[ch] = v
	m.few = nil
}

// Delete removes ch from m, if it is there.
func (m *ChannelMap[V]) Delete(ch ChannelID) {
	if m.many != nil {
		delete(m.many, ch)
		return
	}
	for i := range m.few {
		if m.few[i].ch == ch {
			last := len(m.few) - 1
			m.few[i] = m.few[last]
			m.few[last] = channelEntry[V]{} // let the strings go
			m.few = m.few[:last]
			return
		}
	}
}

// Len is the number of channels in m.
func (m *ChannelMap[V]) Len() int {
	if m.many != nil {
		return len(m.many)
	}
	return len(m.few)
}

// All yields every channel of m with its value. The loop's body must not
// change m.
func (m *ChannelMap[V]) All() iter.Seq2[ChannelID, V] {
	return func(yield func(ChannelID, V) bool) {
		if m.many != nil {
			for ch, v := range m.many {
				if !yield(ch, v) {
					return
				}
			}
			return
		}
		for _, e := range m.few {
			if !yield(e.ch, e.v) {
				return
			}
		}
	}
}
