package application_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// inboxWorld is one user's world for the inbox tests: an in-memory store
// that keeps the contracts an inbox stream relies on (commit keys that grow
// with seq, a stable watermark held back by open transactions, PrefixAt,
// ListByKey, a gap-free user log) and a notifier whose subscriptions
// deliver only what is published to a channel after it was subscribed.
// Every port call is recorded, so that a test can check the order of
// reads; hooks run right after a named call has read its answer, as a
// concurrent request would commit between two reads of the stream.
type inboxWorld struct {
	ports.ConversationRepository
	ports.MessageRepository
	ports.Notifier

	t    *testing.T
	user domain.UserID

	mu         sync.Mutex
	convs      []*inboxConv
	msgs       []keyedMsg
	nextKey    int64
	openTx     map[int64]bool // keys taken by transactions still open: they hold the watermark back
	useq       int64
	departures []domain.UserLogDeparture
	calls      []string
	after      map[string][]func() // method → hooks run once after its next answers
	fail       map[string]failure  // method → how it fails
	subs       []*inboxSub
}

// failure makes a method fail with err once it has answered pass calls.
type failure struct {
	err  error
	pass int
}

type inboxConv struct {
	ch        domain.ChannelID
	number    int64
	member    bool
	joinUSeq  int64
	joinedSeq int64
	readSeq   int64
	readUSeq  int64
}

type keyedMsg struct {
	m   domain.Message
	key int64
}

var (
	_ ports.ConversationRepository = (*inboxWorld)(nil)
	_ ports.MessageRepository      = (*inboxWorld)(nil)
	_ ports.Notifier               = (*inboxWorld)(nil)
)

func newInboxWorld(t *testing.T) *inboxWorld {
	return &inboxWorld{t: t, user: alice.UserID, nextKey: 1, openTx: map[int64]bool{},
		after: map[string][]func(){}, fail: map[string]failure{}}
}

// conversation makes ch exist, numbered number, with the user a member
// from the start (before any log position a test resumes from) when
// member is true.
func (w *inboxWorld) conversation(ch domain.ChannelID, number int64, member bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.convs = append(w.convs, &inboxConv{ch: ch, number: number, member: member})
}

func (w *inboxWorld) conv(ch domain.ChannelID) *inboxConv {
	for _, c := range w.convs {
		if c.ch == ch {
			return c
		}
	}
	w.t.Fatalf("no conversation %s", ch)
	return nil
}

func (w *inboxWorld) lastSeq(ch domain.ChannelID) int64 {
	var last int64
	for _, km := range w.msgs {
		if km.m.Channel == ch {
			last = max(last, km.m.Seq)
		}
	}
	return last
}

// post commits the next n messages of ch, each with the next commit key,
// and publishes each.
func (w *inboxWorld) post(ch domain.ChannelID, n int) {
	for range n {
		w.publish(domain.MessageEvent(w.commit(ch)))
	}
}

// commit commits the next message of ch, with the next commit key, and
// publishes nothing: its notification is lost.
func (w *inboxWorld) commit(ch domain.ChannelID) domain.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := msg(ch, w.lastSeq(ch)+1)
	w.msgs = append(w.msgs, keyedMsg{m: m, key: w.nextKey})
	w.nextKey++
	return m
}

// holdWatermark opens a transaction that takes the next commit key and
// does not end: the watermark stays at or below that key.
func (w *inboxWorld) holdWatermark() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.openTx[w.nextKey] = true
	w.nextKey++
}

// join makes the user a member of ch, taking the next useq, and rings the
// user's channel.
func (w *inboxWorld) join(ch domain.ChannelID) {
	w.mu.Lock()
	c := w.conv(ch)
	w.useq++
	c.member, c.joinUSeq, c.joinedSeq = true, w.useq, w.lastSeq(ch)
	useq := w.useq
	w.mu.Unlock()
	w.publish(domain.MemberJoinedEvent(w.user, ch, useq))
}

// on runs hook once, right after the next call of method has read its
// answer.
func (w *inboxWorld) on(method string, hook func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.after[method] = append(w.after[method], hook)
}

// call records method and returns its injected failure, and done, which
// runs the hooks of method: the caller answers, then runs done.
func (w *inboxWorld) call(method string) (func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, method)
	hooks := w.after[method]
	delete(w.after, method)
	var err error
	if f, ok := w.fail[method]; ok {
		if f.pass > 0 {
			f.pass--
			w.fail[method] = f
		} else {
			err = f.err
		}
	}
	return func() {
		for _, h := range hooks {
			h()
		}
	}, err
}

// callLog returns the names of the port calls so far.
func (w *inboxWorld) callLog() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

// failAfter makes method fail with err after pass more calls succeed; a
// nil err makes it work again.
func (w *inboxWorld) failAfter(method string, pass int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		delete(w.fail, method)
	} else {
		w.fail[method] = failure{err: err, pass: pass}
	}
}

func (w *inboxWorld) state(c *inboxConv) domain.ChannelState {
	return domain.ChannelState{Channel: c.ch, Number: c.number, LastSeq: w.lastSeq(c.ch), IsMember: c.member}
}

// ConversationRepository.

func (w *inboxWorld) UserHead(context.Context, domain.UserID) (int64, error) {
	done, err := w.call("UserHead")
	defer done()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.useq, err
}

func (w *inboxWorld) MemberChannels(context.Context, domain.UserID) ([]domain.ChannelState, error) {
	done, err := w.call("MemberChannels")
	defer done()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []domain.ChannelState
	for _, c := range w.convs {
		if c.member {
			out = append(out, w.state(c))
		}
	}
	return out, nil
}

func (w *inboxWorld) ChannelStates(_ context.Context, channels []domain.ChannelID, _ domain.UserID) ([]domain.ChannelState, error) {
	done, err := w.call("ChannelStates")
	defer done()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []domain.ChannelState
	for _, ch := range channels {
		for _, c := range w.convs {
			if c.ch == ch {
				out = append(out, w.state(c))
			}
		}
	}
	return out, nil
}

func (w *inboxWorld) MemberViews(_ context.Context, channels []domain.ChannelID, _ domain.UserID) ([]domain.Conversation, error) {
	done, err := w.call("MemberViews")
	defer done()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []domain.Conversation
	for _, ch := range channels {
		for _, c := range w.convs {
			if c.ch == ch && c.member {
				out = append(out, domain.Conversation{ID: ch.ID, Kind: ch.Kind, Number: c.number,
					MemberIDs: []domain.UserID{w.user}, LastSeq: w.lastSeq(ch), ReadSeq: c.readSeq})
			}
		}
	}
	return out, nil
}

func (w *inboxWorld) UserLog(_ context.Context, _ domain.UserID, after int64) (domain.UserLog, error) {
	done, err := w.call("UserLog")
	defer done()
	if err != nil {
		return domain.UserLog{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	log := domain.UserLog{Head: w.useq}
	for _, c := range w.convs {
		if c.member && c.joinUSeq > after {
			log.Joined = append(log.Joined, domain.UserLogJoin{Channel: c.ch, Number: c.number, USeq: c.joinUSeq, JoinedSeq: c.joinedSeq})
		}
		if c.member && c.readUSeq > after {
			log.Reads = append(log.Reads, domain.UserLogRead{Channel: c.ch, Number: c.number, USeq: c.readUSeq, ReadSeq: c.readSeq})
		}
	}
	for _, d := range w.departures {
		if d.USeq > after {
			log.Departures = append(log.Departures, d)
		}
	}
	sort.Slice(log.Joined, func(i, j int) bool { return log.Joined[i].USeq < log.Joined[j].USeq })
	sort.Slice(log.Reads, func(i, j int) bool { return log.Reads[i].USeq < log.Reads[j].USeq })
	return log, nil
}

// MessageRepository.

func (w *inboxWorld) StableWatermark(context.Context) (int64, error) {
	done, err := w.call("StableWatermark")
	defer done()
	w.mu.Lock()
	defer w.mu.Unlock()
	wm := w.nextKey
	for k := range w.openTx {
		wm = min(wm, k)
	}
	return wm, err
}

func (w *inboxWorld) PrefixAt(_ context.Context, channels []domain.ChannelID, at int64) (map[domain.ChannelID]int64, error) {
	done, err := w.call("PrefixAt")
	defer done()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[domain.ChannelID]int64, len(channels))
	for _, ch := range channels {
		out[ch] = 0
	}
	for _, km := range w.msgs {
		if _, asked := out[km.m.Channel]; asked && km.key < at {
			out[km.m.Channel] = max(out[km.m.Channel], km.m.Seq)
		}
	}
	return out, nil
}

func (w *inboxWorld) ListByKey(_ context.Context, channels []domain.ChannelID, from, below int64, limit int) ([]domain.KeyedMessage, error) {
	done, err := w.call("ListByKey")
	defer done()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []domain.KeyedMessage
	for _, km := range w.msgs { // in key order
		if km.key >= from && km.key < below && slices.Contains(channels, km.m.Channel) && len(out) < limit {
			out = append(out, domain.KeyedMessage{Message: km.m, Key: km.key})
		}
	}
	return out, nil
}

func (w *inboxWorld) List(_ context.Context, q domain.HistoryQuery) ([]domain.Message, error) {
	done, err := w.call("List")
	defer done()
	if err != nil {
		return nil, err
	}
	if q.Anchor != domain.PageAfter || q.Limit < 1 {
		return nil, fmt.Errorf("unexpected query %+v", q)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []domain.Message
	for _, km := range w.msgs {
		if km.m.Channel == q.Channel && km.m.Seq > q.Seq && len(out) < q.Limit {
			out = append(out, km.m)
		}
	}
	return out, nil
}

// Notifier.

func (w *inboxWorld) Subscribe(_ context.Context, channels []domain.ChannelID) (ports.Subscription, error) {
	done, err := w.call("notifier.Subscribe")
	defer done()
	if err != nil {
		return nil, err
	}
	s := &inboxSub{w: w, events: make(chan *domain.Event, 4096), ready: make(chan struct{}, 1), done: make(chan struct{}), subscribed: map[domain.ChannelID]bool{}}
	for _, ch := range channels {
		s.subscribed[ch] = true
	}
	w.mu.Lock()
	w.subs = append(w.subs, s)
	w.mu.Unlock()
	return s, nil
}

// publish hands ev to every subscription that has its channel now.
func (w *inboxWorld) publish(ev domain.Event) {
	w.mu.Lock()
	subs := slices.Clone(w.subs)
	w.mu.Unlock()
	for _, s := range subs {
		s.deliver(ev)
	}
}

// inboxSub is a subscription of the inboxWorld's notifier.
type inboxSub struct {
	w      *inboxWorld
	events chan *domain.Event
	ready  chan struct{}
	done   chan struct{}

	mu         sync.Mutex
	subscribed map[domain.ChannelID]bool
	closed     int
}

func (s *inboxSub) Ready() <-chan struct{}   { return s.ready }
func (s *inboxSub) Crowded() <-chan struct{} { return nil }
func (s *inboxSub) Done() <-chan struct{}    { return s.done }
func (s *inboxSub) Err() error               { return nil }

func (s *inboxSub) Take(dst []*domain.Event, k int) []*domain.Event {
	return takeQueued(s.events, s.ready, dst, k)
}

func (s *inboxSub) Subscribe(channels ...domain.ChannelID) error {
	done, err := s.w.call("sub.Subscribe")
	defer done()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range channels {
		s.subscribed[ch] = true
	}
	return nil
}

func (s *inboxSub) Unsubscribe(channels ...domain.ChannelID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range channels {
		delete(s.subscribed, ch)
	}
}

func (s *inboxSub) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
	if s.closed == 1 {
		close(s.done)
	}
}

func (s *inboxSub) deliver(ev domain.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subscribed[ev.Channel] && s.closed == 0 {
		s.events <- &ev
		signal(s.ready)
	}
}

// inboxRecorder is an application.InboxSink that logs every call ("A3",
// "added B@5", "removed A", "read A=2", "flush"), keeps the cursor of
// each, checks that each cursor survives its text form within the bounds
// API.md promises, and runs steps[i] during the i-th Flush.
type inboxRecorder struct {
	t       *testing.T
	log     []string
	cursors []domain.InboxCursor // the cursor of each entry of log but the flushes
	steps   []func()
	flushes int
	// afterFlush, when set, runs at the end of every Flush.
	afterFlush func()
	// stop, when set, runs once the log holds stopAt entries.
	stop   func()
	stopAt int
}

var _ application.InboxSink = (*inboxRecorder)(nil)

func (r *inboxRecorder) record(entry string, c domain.InboxCursor) error {
	r.t.Helper()
	text := c.String()
	parsed, err := domain.ParseInboxCursor(text)
	switch {
	case err != nil:
		r.t.Errorf("%s: the cursor %q does not parse: %v", entry, text, err)
	case parsed.Except.Len() > domain.MaxInboxExceptions:
		r.t.Errorf("%s: the cursor names %d conversations, more than %d", entry, parsed.Except.Len(), domain.MaxInboxExceptions)
	}
	if len(text) > domain.MaxInboxCursorLength {
		r.t.Errorf("%s: the cursor is %d bytes long, more than %d", entry, len(text), domain.MaxInboxCursorLength)
	}
	r.log = append(r.log, entry)
	r.cursors = append(r.cursors, parsed)
	if r.stop != nil && len(r.log) == r.stopAt {
		r.stop()
	}
	return nil
}

// messageEntry is the log entry of message seq of ch: "A3", or "grp_7#3"
// for a channel without a short name.
func messageEntry(ch domain.ChannelID, seq int64) string {
	if name, ok := channelNames[ch]; ok {
		return fmt.Sprintf("%s%d", name, seq)
	}
	return fmt.Sprintf("%s#%d", ch.ID, seq)
}

func inboxName(ch domain.ChannelID) string {
	if name, ok := channelNames[ch]; ok {
		return name
	}
	return string(ch.ID)
}

func (r *inboxRecorder) Message(m domain.Message, c domain.InboxCursor) error {
	if want := msg(m.Channel, m.Seq); m != want {
		r.t.Errorf("delivered %+v, want the stored %+v", m, want)
	}
	return r.record(messageEntry(m.Channel, m.Seq), c)
}

func (r *inboxRecorder) ConversationAdded(conv domain.Conversation, c domain.InboxCursor) error {
	return r.record(fmt.Sprintf("added %s@%d", inboxName(domain.ChannelID{Kind: conv.Kind, ID: conv.ID}), conv.LastSeq), c)
}

func (r *inboxRecorder) ChannelRemoved(ch domain.ChannelID, c domain.InboxCursor) error {
	return r.record("removed "+inboxName(ch), c)
}

func (r *inboxRecorder) Read(ch domain.ChannelID, readSeq int64, c domain.InboxCursor) error {
	return r.record(fmt.Sprintf("read %s=%d", inboxName(ch), readSeq), c)
}

func (r *inboxRecorder) TokenExpired() error { r.log = append(r.log, "expired"); return nil }
func (r *inboxRecorder) Heartbeat() error    { return nil }

func (r *inboxRecorder) Flush() error {
	i := r.flushes
	r.flushes++
	if i < len(r.steps) {
		r.steps[i]()
	}
	if r.afterFlush != nil {
		r.afterFlush()
	}
	return nil
}

// delivered returns the log's entries, which are the ones with a cursor.
func (r *inboxRecorder) delivered() []string { return slices.Clone(r.log) }

// perChannel splits the message entries of a log ("A3", "grp_7#3") by
// conversation, in delivery order; other entries are left out.
func perChannel(entries []string) map[string][]string {
	out := map[string][]string{}
	for _, e := range entries {
		if strings.Contains(e, " ") {
			continue
		}
		name, _, found := strings.Cut(e, "#")
		if !found {
			name = strings.TrimRight(e, "0123456789")
		}
		out[name] = append(out[name], e)
	}
	return out
}
