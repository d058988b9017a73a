package repotest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// createDM stores a new direct message between a and b.
func (f *fixture) createDM(t *testing.T, a, b domain.UserID) domain.Conversation {
	t.Helper()
	dm, created, useqs, err := f.convs.CreateDirectMessage(t.Context(), newDM(f, a, b))
	if err != nil || !created {
		t.Fatalf("CreateDirectMessage(%s, %s) = created %v, %v; want a new one", a, b, created, err)
	}
	f.wantJoinUseqs(t, "CreateDirectMessage", dm, useqs)
	return dm
}

// wantUseq fails the test unless useq, which a write returned for user,
// is user's head now: the useq the write took, the last one so far.
func (f *fixture) wantUseq(t *testing.T, what string, user domain.UserID, useq int64) {
	t.Helper()
	head, err := f.convs.UserHead(t.Context(), user)
	if err != nil {
		t.Fatalf("UserHead(%s): %v", user, err)
	}
	if useq < 1 || useq != head {
		t.Fatalf("%s: useq of %s = %d; want %d, the user's head after the write", what, user, useq, head)
	}
}

// wantJoinUseqs fails the test unless useqs, which the creation of c
// returned, maps exactly c's members, each to its head now.
func (f *fixture) wantJoinUseqs(t *testing.T, what string, c domain.Conversation, useqs map[domain.UserID]int64) {
	t.Helper()
	if len(useqs) != len(c.MemberIDs) {
		t.Fatalf("%s: useqs = %v; want one per member of %v", what, useqs, c.MemberIDs)
	}
	for _, u := range c.MemberIDs {
		f.wantUseq(t, what, u, useqs[u])
	}
}

// newDM returns an unsaved direct message between a and b, created now.
func newDM(f *fixture, a, b domain.UserID) domain.Conversation {
	return domain.Conversation{
		ID:        domain.ConversationID(f.newID("dm")),
		Kind:      domain.KindDM,
		MemberIDs: sortedUsers([]domain.UserID{a, b}),
		CreatedAt: time.Now(),
	}
}

// createGroup stores a new group called name with members.
func (f *fixture) createGroup(t *testing.T, name string, members ...domain.UserID) domain.Conversation {
	t.Helper()
	return f.createGroupAt(t, name, time.Now(), members...)
}

// createGroupAt stores a new group called name with members, created at.
func (f *fixture) createGroupAt(t *testing.T, name string, at time.Time, members ...domain.UserID) domain.Conversation {
	t.Helper()
	g := domain.Conversation{
		ID:        domain.ConversationID(f.newID("grp")),
		Kind:      domain.KindGroup,
		Name:      name,
		MemberIDs: members,
		CreatedAt: at,
	}
	stored, useqs, err := f.convs.CreateGroup(t.Context(), g)
	if err != nil {
		t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	f.wantJoinUseqs(t, "CreateGroup", stored, useqs)
	return stored
}

// addMember is AddMember without its useq, for the tests about who is a
// member.
func (f *fixture) addMember(ctx context.Context, ch domain.ChannelID, user domain.UserID, maxMembers int) error {
	_, err := f.convs.AddMember(ctx, ch, user, maxMembers)
	return err
}

// message returns an unsaved message of sender in ch.
func (f *fixture) message(ch domain.ChannelID, sender domain.UserID, content, clientID string) domain.Message {
	return domain.Message{
		ID:              f.newID("msg"),
		Channel:         ch,
		SenderID:        sender,
		Content:         content,
		ClientMessageID: clientID,
		CreatedAt:       time.Now(),
	}
}

// appendOK appends m and fails the test if that fails.
func (f *fixture) appendOK(t *testing.T, m domain.Message) domain.Message {
	t.Helper()
	stored, _, err := f.msgs.Append(t.Context(), m, ports.AppendOptions{})
	if err != nil {
		t.Fatalf("Append(%s in %s): %v", m.ID, m.Channel, err)
	}
	return stored
}

// appendN appends n messages of sender to ch and returns them as stored.
func (f *fixture) appendN(t *testing.T, ch domain.ChannelID, sender domain.UserID, n int) []domain.Message {
	t.Helper()
	out := make([]domain.Message, n)
	for i := range out {
		out[i] = f.appendOK(t, f.message(ch, sender, "message "+f.newID("c"), ""))
	}
	return out
}

// get loads ch and fails the test if that fails.
func (f *fixture) get(t *testing.T, ch domain.ChannelID) domain.Conversation {
	t.Helper()
	c, err := f.convs.Get(t.Context(), ch)
	if err != nil {
		t.Fatalf("Get(%s): %v", ch, err)
	}
	return c
}

func sortedUsers(users []domain.UserID) []domain.UserID {
	out := slices.Clone(users)
	slices.Sort(out)
	return slices.Compact(out)
}

// wantErr fails the test unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v; want one wrapping %q", what, err, target)
	}
}

// checkStoredTime checks a time the store returned against the one it was
// given: in UTC and equal but for the store's precision.
func checkStoredTime(t *testing.T, what string, got, sent time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s: CreatedAt location = %v; want UTC", what, got.Location())
	}
	if d := got.Sub(sent); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("%s: CreatedAt = %v; want %v to the millisecond", what, got, sent)
	}
}

// sameConversation fails the test unless got and want describe the same
// stored conversation (members compared as sets).
func sameConversation(t *testing.T, what string, got, want domain.Conversation) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.Number != want.Number ||
		got.Name != want.Name || got.LastSeq != want.LastSeq || !got.CreatedAt.Equal(want.CreatedAt) ||
		!slices.Equal(sortedUsers(got.MemberIDs), sortedUsers(want.MemberIDs)) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// sameMessage fails the test unless got and want are the same stored
// message.
func sameMessage(t *testing.T, what string, got, want domain.Message) {
	t.Helper()
	g, w := got, want
	g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
	if g != w || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// seqs returns the seqs of msgs in order.
func seqs(msgs []domain.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

// seqRange returns from, from+1, …, to (empty when to < from).
func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// roomy is a group size bound that the tests not about it never reach.
const roomy = 1000

// listFirst returns the first page of user's conversations, of the
// default size, which the tests not about paging never fill.
func (f *fixture) listFirst(t *testing.T, user domain.UserID) ([]domain.Conversation, error) {
	t.Helper()
	page, err := f.convs.ListForMember(t.Context(), domain.ConversationPageQuery{
		Member: user, Limit: domain.DefaultConversationPageSize,
	})
	if err == nil && page.HasNext() {
		t.Fatalf("ListForMember(%s) has a next page after %d conversations", user, len(page.Conversations))
	}
	return page.Conversations, err
}

// listPages reads every page of user's conversations, limit at a time,
// and returns them with the sizes of the pages.
func (f *fixture) listPages(t *testing.T, user domain.UserID, limit int) ([]domain.Conversation, []int) {
	t.Helper()
	var (
		all   []domain.Conversation
		sizes []int
		after domain.ConversationCursor
	)
	for {
		page := f.listPage(t, user, after, limit)
		all = append(all, page.Conversations...)
		sizes = append(sizes, len(page.Conversations))
		if !page.HasNext() {
			return all, sizes
		}
		if len(sizes) > 1000 {
			t.Fatalf("ListForMember(%s) pages never end", user)
		}
		after = page.Next
	}
}

// listPage reads the page of user's conversations after the position
// after and checks that its Next, if any, is the position of its last
// conversation.
func (f *fixture) listPage(t *testing.T, user domain.UserID, after domain.ConversationCursor, limit int) domain.ConversationPage {
	t.Helper()
	page, err := f.convs.ListForMember(t.Context(), domain.ConversationPageQuery{Member: user, After: after, Limit: limit})
	if err != nil {
		t.Fatalf("ListForMember(%s, after %+v, limit %d): %v", user, after, limit, err)
	}
	if len(page.Conversations) > limit {
		t.Fatalf("ListForMember(limit %d) = %d conversations", limit, len(page.Conversations))
	}
	if page.HasNext() {
		if len(page.Conversations) == 0 {
			t.Fatalf("ListForMember(limit %d) = an empty page with a next one", limit)
		}
		last := page.Conversations[len(page.Conversations)-1]
		if want := domain.ConversationCursorOf(last); page.Next.Number != want.Number || !page.Next.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("page.Next = %+v; want the position of its last conversation, %+v", page.Next, want)
		}
	}
	return page
}

// ids returns the ids of convs in order.
func ids(convs []domain.Conversation) []domain.ConversationID {
	out := make([]domain.ConversationID, len(convs))
	for i, c := range convs {
		out[i] = c.ID
	}
	return out
}
