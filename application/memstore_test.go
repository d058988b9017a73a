package application_test

import (
	"context"
	"slices"
	"sync"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// memStore is an in-memory message store, for the use-case tests in which
// the stored state is the point. It keeps the contract of the ports
// SendMessage uses: IsMember of ConversationRepository; Append (gap-free
// seqs, the membership check unless opts.Service, ErrConflict for a reused
// client message id) and FindByClientID of MessageRepository. The other
// methods are not implemented: calling one panics.
type memStore struct {
	ports.ConversationRepository
	ports.MessageRepository

	mu       sync.Mutex
	members  map[domain.ChannelID][]domain.UserID // the conversations that exist
	removals map[domain.ChannelID]int64
	msgs     []domain.Message
	lastKey  int64 // the commit key of the newest message Append stored

	// Failures to inject: the error IsMember, FindByClientID or Append
	// fails with, nil when it works.
	isMemberErr, findErr, appendErr error
	// beforeAppend runs as Append starts, as a concurrent request would
	// commit between the use case's checks and its append.
	beforeAppend func(s *memStore)
}

var (
	_ ports.ConversationRepository = (*memStore)(nil)
	_ ports.MessageRepository      = (*memStore)(nil)
)

func newMemStore() *memStore {
	return &memStore{members: map[domain.ChannelID][]domain.UserID{}, removals: map[domain.ChannelID]int64{}}
}

// conversation makes channel exist with members.
func (s *memStore) conversation(channel domain.ChannelID, members ...domain.UserID) *memStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[channel] = members
	return s
}

// remove removes user from channel, as RemoveMember does.
func (s *memStore) remove(channel domain.ChannelID, user domain.UserID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[channel] = slices.DeleteFunc(s.members[channel], func(u domain.UserID) bool { return u == user })
	s.removals[channel]++
}

// put stores m as it is (seq included), as an earlier request did.
func (s *memStore) put(m domain.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

// stored returns every stored message, in the order stored.
func (s *memStore) stored() []domain.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

func (s *memStore) IsMember(_ context.Context, channel domain.ChannelID, user domain.UserID) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isMemberErr != nil {
		return false, s.isMemberErr
	}
	return slices.Contains(s.members[channel], user), nil
}

func (s *memStore) FindByClientID(_ context.Context, sender domain.UserID, clientMessageID string) (domain.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findErr != nil {
		return domain.Message{}, s.findErr
	}
	for _, m := range s.msgs {
		if m.SenderID == sender && m.ClientMessageID == clientMessageID {
			return m, nil
		}
	}
	return domain.Message{}, domain.ErrNotFound
}

func (s *memStore) Append(_ context.Context, m domain.Message, opts ports.AppendOptions) (domain.Message, domain.ChannelState, error) {
	if s.beforeAppend != nil {
		s.beforeAppend(s)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	members, exists := s.members[m.Channel]
	switch {
	case s.appendErr != nil:
		return domain.Message{}, domain.ChannelState{}, s.appendErr
	case !exists, !opts.Service && !slices.Contains(members, m.SenderID):
		return domain.Message{}, domain.ChannelState{}, domain.ErrNotFound
	}
	var last int64
	for _, other := range s.msgs {
		if m.ClientMessageID != "" && other.SenderID == m.SenderID && other.ClientMessageID == m.ClientMessageID {
			return domain.Message{}, domain.ChannelState{}, domain.ErrConflict
		}
		if other.Channel == m.Channel {
			last = max(last, other.Seq)
		}
	}
	m.Seq = last + 1
	s.msgs = append(s.msgs, m)
	s.lastKey++
	return m, domain.ChannelState{Channel: m.Channel, LastSeq: m.Seq, Removals: s.removals[m.Channel], LastKey: s.lastKey}, nil
}

// memNotifier is a ports.Notifier that records what is published; only
// Publish is implemented.
type memNotifier struct {
	ports.Notifier

	mu        sync.Mutex
	events    []domain.Event
	publishes int
	err       error // what Publish fails with, nil when it works
}

var _ ports.Notifier = (*memNotifier)(nil)

func (n *memNotifier) Publish(_ context.Context, ev domain.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.publishes++
	if n.err != nil {
		return n.err
	}
	n.events = append(n.events, ev)
	return nil
}

// published returns the events published successfully, and how many
// publishes were tried.
func (n *memNotifier) published() ([]domain.Event, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.events), n.publishes
}
