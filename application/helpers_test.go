package application_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/golang/mock/gomock"
	"go.uber.org/goleak"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports/mocks"
)

// TestMain fails the package if any test leaves a goroutine behind; streams
// run on the test goroutine, so this covers Stream.Run too.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	fixedNow   = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	errBoom    = errors.New("boom")
	alice      = domain.Principal{UserID: "u_alice"}
	service    = domain.Principal{UserID: "svc_bot", Admin: true}
	dmAB       = domain.DMChannel("dm_ab")
	groupTeam  = domain.GroupChannel("grp_team")
	groupOther = domain.GroupChannel("grp_other")
)

// fixture holds one test's mocks of every port.
type fixture struct {
	t        *testing.T
	convs    *mocks.MockConversationRepository
	msgs     *mocks.MockMessageRepository
	notifier *mocks.MockNotifier
	ids      *mocks.MockIDGenerator
	clock    *mocks.MockClock
	logs     *syncBuffer
	logger   *slog.Logger
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctrl := gomock.NewController(t)
	logs := &syncBuffer{}
	return &fixture{
		t:        t,
		convs:    mocks.NewMockConversationRepository(ctrl),
		msgs:     mocks.NewMockMessageRepository(ctrl),
		notifier: mocks.NewMockNotifier(ctrl),
		ids:      mocks.NewMockIDGenerator(ctrl),
		clock:    mocks.NewMockClock(ctrl),
		logs:     logs,
		logger:   slog.New(slog.NewJSONHandler(logs, nil)),
	}
}

// fixedClockAndIDs makes the clock say fixedNow and the id generator return
// prefix + "_1", as often as they are asked.
func (f *fixture) fixedClockAndIDs() {
	f.clock.EXPECT().Now().Return(fixedNow).AnyTimes()
	f.ids.EXPECT().NewID(gomock.Any()).DoAndReturn(func(prefix string) string { return prefix + "_1" }).AnyTimes()
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// funcMatcher is a gomock.Matcher from a predicate (gomock v1.6.0 has no
// gomock.Cond).
type funcMatcher[T any] struct {
	desc string
	f    func(T) bool
}

func (m funcMatcher[T]) Matches(x any) bool {
	v, ok := x.(T)
	return ok && m.f(v)
}

func (m funcMatcher[T]) String() string { return m.desc }

func match[T any](desc string, f func(T) bool) gomock.Matcher {
	return funcMatcher[T]{desc: desc, f: f}
}

// liveContext matches a context that is not cancelled.
func liveContext() gomock.Matcher {
	return match("a context that is not cancelled", func(ctx context.Context) bool { return ctx.Err() == nil })
}

// checkErr fails t unless err is nil and want is nil, or errors.Is(err, want).
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want one wrapping %v", err, want)
	}
}

// msg returns message seq of channel as the store would hold it.
func msg(channel domain.ChannelID, seq int64) domain.Message {
	return domain.Message{
		ID:        fmt.Sprintf("msg_%s_%d", channel.ID, seq),
		Channel:   channel,
		Seq:       seq,
		SenderID:  "u_bob",
		Content:   fmt.Sprintf("message %d of %s", seq, channel),
		CreatedAt: fixedNow.Add(time.Duration(seq) * time.Second),
	}
}
