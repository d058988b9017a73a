package httpapi_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// fakeStore is an in-memory ConversationRepository and MessageRepository,
// enough to drive the real use cases through the HTTP adapter.
type fakeStore struct {
	mu      sync.Mutex
	convs   map[domain.ChannelID]*domain.Conversation
	order   []domain.ChannelID
	msgs    map[domain.ChannelID][]domain.Message
	number  int64
	read    map[readKey]int64 // read positions
	ulog    map[domain.UserID][]fakeLogEntry
	keys    map[string]int64 // commit keys by message id
	lastKey int64            // the newest commit key
	failErr error            // every call fails with it when set
}

// fakeLogEntry is one change of a user's log: what is "join", "left" or
// "read"; seq is the joined seq or the read position.
type fakeLogEntry struct {
	what    string
	channel domain.ChannelID
	number  int64
	useq    int64
	seq     int64
}

type readKey struct {
	channel domain.ChannelID
	user    domain.UserID
}

var (
	_ ports.ConversationRepository = (*fakeStore)(nil)
	_ ports.MessageRepository      = (*fakeStore)(nil)
)

func newFakeStore() *fakeStore {
	return &fakeStore{convs: map[domain.ChannelID]*domain.Conversation{}, msgs: map[domain.ChannelID][]domain.Message{},
		read: map[readKey]int64{}, ulog: map[domain.UserID][]fakeLogEntry{}, keys: map[string]int64{}}
}

// logChange records a change of u's log with u's next useq, and returns
// that useq.
func (s *fakeStore) logChange(u domain.UserID, what string, c *domain.Conversation, seq int64) int64 {
	useq := int64(len(s.ulog[u])) + 1
	s.ulog[u] = append(s.ulog[u], fakeLogEntry{what: what, channel: c.Channel(), number: c.Number,
		useq: useq, seq: seq})
	return useq
}

func (s *fakeStore) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failErr = err
}

// add stores c and logs its members' joins; it returns c as stored and
// the useq of each member's join.
func (s *fakeStore) add(c domain.Conversation) (domain.Conversation, map[domain.UserID]int64) {
	s.number++
	c.Number = s.number
	c.MemberIDs = slices.Clone(c.MemberIDs)
	s.convs[c.Channel()] = &c
	s.order = append(s.order, c.Channel())
	useqs := make(map[domain.UserID]int64, len(c.MemberIDs))
	for _, u := range c.MemberIDs {
		useqs[u] = s.logChange(u, "join", &c, c.LastSeq)
	}
	return c, useqs
}

func (s *fakeStore) CreateDirectMessage(_ context.Context, dm domain.Conversation) (domain.Conversation, bool, map[domain.UserID]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return domain.Conversation{}, false, nil, s.failErr
	}
	for _, c := range s.convs {
		if c.Kind == domain.KindDM && slices.Equal(c.MemberIDs, dm.MemberIDs) {
			return *c, false, nil, nil
		}
	}
	c, useqs := s.add(dm)
	return c, true, useqs, nil
}

func (s *fakeStore) CreateGroup(_ context.Context, g domain.Conversation) (domain.Conversation, map[domain.UserID]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return domain.Conversation{}, nil, s.failErr
	}
	c, useqs := s.add(g)
	return c, useqs, nil
}

func (s *fakeStore) Get(_ context.Context, ch domain.ChannelID) (domain.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return domain.Conversation{}, s.failErr
	}
	c, ok := s.convs[ch]
	if !ok {
		return domain.Conversation{}, fmt.Errorf("get %s: %w", ch, domain.ErrNotFound)
	}
	out := *c
	out.MemberIDs = slices.Clone(c.MemberIDs)
	return out, nil
}

func (s *fakeStore) IsMember(_ context.Context, ch domain.ChannelID, u domain.UserID) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return false, s.failErr
	}
	c, ok := s.convs[ch]
	return ok && c.HasMember(u), nil
}

func (s *fakeStore) ChannelStates(_ context.Context, chs []domain.ChannelID, u domain.UserID) ([]domain.ChannelState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return nil, s.failErr
	}
	var out []domain.ChannelState
	for _, ch := range chs {
		if c, ok := s.convs[ch]; ok {
			out = append(out, domain.ChannelState{Channel: ch, Number: c.Number, LastSeq: c.LastSeq, IsMember: c.HasMember(u)})
		}
	}
	return out, nil
}

func (s *fakeStore) MemberChannels(_ context.Context, u domain.UserID) ([]domain.ChannelState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return nil, s.failErr
	}
	var out []domain.ChannelState
	for _, ch := range s.order {
		if c := s.convs[ch]; c.HasMember(u) {
			out = append(out, domain.ChannelState{Channel: ch, Number: c.Number, LastSeq: c.LastSeq, IsMember: true})
		}
	}
	return out, nil
}

func (s *fakeStore) MemberViews(_ context.Context, chs []domain.ChannelID, u domain.UserID) ([]domain.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return nil, s.failErr
	}
	var out []domain.Conversation
	for _, ch := range chs {
		if c, ok := s.convs[ch]; ok && c.HasMember(u) {
			v := *c
			v.ReadSeq = s.read[readKey{ch, u}]
			for _, m := range s.msgs[ch] {
				if m.Seq > v.ReadSeq && m.SenderID != u {
					v.UnreadCount++
				}
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func (s *fakeStore) ListForMember(_ context.Context, q domain.ConversationPageQuery) (domain.ConversationPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return domain.ConversationPage{}, s.failErr
	}
	var all []domain.Conversation
	for _, ch := range s.order {
		if c := s.convs[ch]; c.HasMember(q.Member) && q.After.Before(*c) {
			v := *c
			v.ReadSeq = s.read[readKey{ch, q.Member}]
			for _, m := range s.msgs[ch] {
				if m.Seq > v.ReadSeq && m.SenderID != q.Member {
					v.UnreadCount++
				}
			}
			all = append(all, v)
		}
	}
	slices.SortFunc(all, func(a, b domain.Conversation) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.Number, a.Number))
	})
	var page domain.ConversationPage
	if len(all) > q.Limit {
		all = all[:q.Limit]
		page.Next = domain.ConversationCursorOf(all[len(all)-1])
	}
	page.Conversations = all
	return page, nil
}

func (s *fakeStore) AddMember(_ context.Context, g domain.ChannelID, u domain.UserID, maxMembers int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return 0, s.failErr
	}
	c, ok := s.convs[g]
	if !ok {
		return 0, domain.ErrNotFound
	}
	switch {
	case c.HasMember(u):
		return 0, nil
	case len(c.MemberIDs) >= maxMembers:
		return 0, domain.ErrGroupFull
	}
	c.MemberIDs = append(c.MemberIDs, u)
	return s.logChange(u, "join", c, c.LastSeq), nil
}

func (s *fakeStore) RemoveMember(_ context.Context, g domain.ChannelID, u domain.UserID) (bool, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return false, 0, s.failErr
	}
	c, ok := s.convs[g]
	if !ok || !c.HasMember(u) {
		return false, 0, nil
	}
	c.MemberIDs = slices.DeleteFunc(c.MemberIDs, func(m domain.UserID) bool { return m == u })
	delete(s.read, readKey{g, u})
	return true, s.logChange(u, "left", c, 0), nil
}

func (s *fakeStore) MarkRead(_ context.Context, ch domain.ChannelID, u domain.UserID, seq int64) (int64, bool, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return 0, false, 0, s.failErr
	}
	c, ok := s.convs[ch]
	if !ok || !c.HasMember(u) {
		return 0, false, 0, fmt.Errorf("mark read %s: %w", ch, domain.ErrNotFound)
	}
	k := readKey{ch, u}
	target := min(seq, c.LastSeq)
	if target <= s.read[k] {
		return s.read[k], false, 0, nil
	}
	s.read[k] = target
	return target, true, s.logChange(u, "read", c, target), nil
}

// UserLog replays u's changes after the useq after: the joins and the
// read positions of conversations u is still in (each position once, as
// it is now), and the departures.
func (s *fakeStore) UserLog(_ context.Context, u domain.UserID, after int64) (domain.UserLog, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return domain.UserLog{}, s.failErr
	}
	entries := s.ulog[u]
	log := domain.UserLog{Head: int64(len(entries))}
	// Only the newest join of a conversation and its newest read are live.
	lastJoin, lastRead := map[domain.ChannelID]int64{}, map[domain.ChannelID]int64{}
	for _, e := range entries {
		switch e.what {
		case "join":
			lastJoin[e.channel] = e.useq
		case "read":
			lastRead[e.channel] = e.useq
		}
	}
	for _, e := range entries {
		if e.useq <= after {
			continue
		}
		c := s.convs[e.channel]
		member := c != nil && c.HasMember(u)
		switch {
		case e.what == "left":
			log.Departures = append(log.Departures, domain.UserLogDeparture{Channel: e.channel, Number: e.number, USeq: e.useq})
		case e.what == "join" && member && lastJoin[e.channel] == e.useq:
			log.Joined = append(log.Joined, domain.UserLogJoin{Channel: e.channel, Number: e.number, USeq: e.useq, JoinedSeq: e.seq})
		case e.what == "read" && member && lastRead[e.channel] == e.useq && lastJoin[e.channel] < e.useq:
			log.Reads = append(log.Reads, domain.UserLogRead{Channel: e.channel, Number: e.number, USeq: e.useq, ReadSeq: e.seq})
		}
	}
	return log, nil
}

// UserHead is UserLog's head.
func (s *fakeStore) UserHead(ctx context.Context, u domain.UserID) (int64, error) {
	log, err := s.UserLog(ctx, u, 1<<62)
	return log.Head, err
}

func (s *fakeStore) Append(_ context.Context, m domain.Message, opts ports.AppendOptions) (domain.Message, domain.ChannelState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return domain.Message{}, domain.ChannelState{}, s.failErr
	}
	c, ok := s.convs[m.Channel]
	if !ok || (!opts.Service && !slices.Contains(c.MemberIDs, m.SenderID)) {
		return domain.Message{}, domain.ChannelState{}, domain.ErrNotFound
	}
	if m.ClientMessageID != "" {
		if _, err := s.findByClientID(m.SenderID, m.ClientMessageID); err == nil {
			return domain.Message{}, domain.ChannelState{}, domain.ErrConflict
		}
	}
	c.LastSeq++
	m.Seq = c.LastSeq
	s.msgs[m.Channel] = append(s.msgs[m.Channel], m)
	s.lastKey++
	s.keys[m.ID] = s.lastKey
	return m, domain.ChannelState{Channel: m.Channel, LastSeq: m.Seq, LastKey: s.lastKey}, nil
}

// StableWatermark is one past the newest commit key: the fake commits
// under its mutex, one append at a time.
func (s *fakeStore) StableWatermark(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return 0, s.failErr
	}
	return s.lastKey + 1, nil
}

// PrefixAt is the highest seq of each channel whose key is below w.
func (s *fakeStore) PrefixAt(_ context.Context, channels []domain.ChannelID, w int64) (map[domain.ChannelID]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return nil, s.failErr
	}
	out := make(map[domain.ChannelID]int64, len(channels))
	for _, ch := range channels {
		out[ch] = 0
		for _, m := range s.msgs[ch] {
			if s.keys[m.ID] < w {
				out[ch] = max(out[ch], m.Seq)
			}
		}
	}
	return out, nil
}

func (s *fakeStore) ListByKey(_ context.Context, chs []domain.ChannelID, from, below int64, limit int) ([]domain.KeyedMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return nil, s.failErr
	}
	var out []domain.KeyedMessage
	for _, ch := range chs {
		for _, m := range s.msgs[ch] {
			if k := s.keys[m.ID]; k >= from && k < below {
				out = append(out, domain.KeyedMessage{Message: m, Key: k})
			}
		}
	}
	slices.SortFunc(out, func(a, b domain.KeyedMessage) int { return cmp.Compare(a.Key, b.Key) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *fakeStore) FindByClientID(_ context.Context, u domain.UserID, id string) (domain.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return domain.Message{}, s.failErr
	}
	return s.findByClientID(u, id)
}

func (s *fakeStore) findByClientID(u domain.UserID, id string) (domain.Message, error) {
	for _, ms := range s.msgs {
		for _, m := range ms {
			if m.SenderID == u && m.ClientMessageID == id {
				return m, nil
			}
		}
	}
	return domain.Message{}, domain.ErrNotFound
}

func (s *fakeStore) List(_ context.Context, q domain.HistoryQuery) ([]domain.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return nil, s.failErr
	}
	all := s.msgs[q.Channel]
	var page []domain.Message
	switch q.Anchor {
	case domain.PageAfter:
		for _, m := range all {
			if m.Seq > q.Seq && len(page) < q.Limit {
				page = append(page, m)
			}
		}
	case domain.PageBefore:
		i, _ := slices.BinarySearchFunc(all, q.Seq, func(m domain.Message, seq int64) int { return cmp.Compare(m.Seq, seq) })
		page = all[max(0, i-q.Limit):i]
	default:
		page = all[max(0, len(all)-q.Limit):]
	}
	return slices.Clone(page), nil
}

// seqIDs makes ids "<prefix>_<n>".
type seqIDs struct{ n atomic.Int64 }

func (g *seqIDs) NewID(prefix string) string { return fmt.Sprintf("%s_%d", prefix, g.n.Add(1)) }

// fixedClock always tells the same time, in a zone other than UTC so that
// tests see the API convert it.
type fixedClock struct{}

var testNow = time.Date(2025, 3, 4, 13, 14, 15, 123456000, time.FixedZone("CET", 3600))

func (fixedClock) Now() time.Time { return testNow }
