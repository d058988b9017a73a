// Package repotest is the contract test suite of the repository ports
// (ports.ConversationRepository and ports.MessageRepository). Every
// implementation runs it from its own tests:
//
//	func TestRepositories(t *testing.T) {
//		repotest.Run(t, func(t *testing.T) (ports.ConversationRepository, ports.MessageRepository) {
//			db := newDatabase(t)
//			return NewConversationRepository(db), NewMessageRepository(db)
//		})
//	}
//
// It imports only the standard library, domain and ports, so that it holds
// every adapter to the same behaviour.
package repotest

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// Factory returns the repositories under test for one subtest, both backed
// by the same store. Run calls it once per subtest, from parallel subtests,
// and expects fresh repositories each time: the suite generates unique ids,
// so a shared store still works, but a fresh one keeps failures apart.
type Factory func(t *testing.T) (ports.ConversationRepository, ports.MessageRepository)

// Run runs the contract suite against the repositories newRepos returns.
func Run(t *testing.T, newRepos Factory) {
	t.Helper()
	groups := [][]contractTest{conversationTests(), membershipTests(), appendTests(), queryTests(), pagingTests(), groupSizeTests(), readTests(), userLogTests(), watermarkTests(), inboxTests()}
	for _, tests := range groups {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				convs, msgs := newRepos(t)
				tt.run(t, newFixture(t, convs, msgs))
			})
		}
	}
}

// contractTest is one named case of the suite.
type contractTest struct {
	name string
	run  func(t *testing.T, f *fixture)
}

// fixture holds one subtest's repositories and makes its entities. Every
// id it makes carries a random suffix so subtests never collide.
type fixture struct {
	convs  ports.ConversationRepository
	msgs   ports.MessageRepository
	suffix string
	n      atomic.Int64
}

func newFixture(t *testing.T, convs ports.ConversationRepository, msgs ports.MessageRepository) *fixture {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails: it crashes the program instead
	return &fixture{convs: convs, msgs: msgs, suffix: hex.EncodeToString(b)}
}

// user returns the id of the test user called name.
func (f *fixture) user(name string) domain.UserID {
	return domain.UserID("u_" + name + "_" + f.suffix)
}

// newID returns a fresh id with prefix; it is safe to call from the
// goroutines of a concurrency test.
func (f *fixture) newID(prefix string) string {
	return prefix + "_" + f.suffix + "_" + strconv.FormatInt(f.n.Add(1), 10)
}
