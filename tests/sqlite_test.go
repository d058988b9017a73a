package tests

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// startSQLiteApp starts the service in-process on a fresh SQLite file in
// t's temporary directory, as DATABASE_URL=sqlite:PATH selects. It needs
// no server, so its tests run under -short too; those that run the built
// binary are skipped there by relayBinary all the same.
func startSQLiteApp(t *testing.T) *testApp {
	t.Helper()
	return startAppOn(t, "sqlite:"+filepath.Join(t.TempDir(), "relay.db"), nil)
}

// TestSQLiteEndToEnd runs the service's main path on the embedded store:
// a DM, messages posted and streamed, a stream resumed with Last-Event-ID
// that gets exactly what it missed, then live ones, and history.
func TestSQLiteEndToEnd(t *testing.T) {
	t.Parallel()
	a := startSQLiteApp(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := a.createDM(t, alice, "u_bob")
	var again conversation
	expect(t, a.do(t, http.MethodPost, "/api/dms", bob.token, map[string]any{"memberIds": []string{"u_bob", "u_alice"}}), http.StatusOK, &again)
	if again.ID != dm.ID {
		t.Fatalf("the same pair again gave %s, want %s", again.ID, dm.ID)
	}

	s := a.openStream(t, bob, []string{dm.channel()}, streamOpts{})
	first := a.send(t, alice, dm, "one")
	got, ev := s.nextMessage(t)
	if got.ID != first.ID || got.Seq != 1 {
		t.Fatalf("the stream got %+v, want %s with seq 1", got, first.ID)
	}
	s.close()
	a.send(t, alice, dm, "two")
	a.send(t, bob, dm, "three")

	resumed := a.openStream(t, bob, []string{dm.channel()}, streamOpts{lastEventID: ev.ID})
	missed, _ := resumed.messages(t, 2)
	wantSeqs(t, "replay after Last-Event-ID", seqs(missed), []int64{2, 3})
	live := a.send(t, alice, dm, "four")
	if got, _ := resumed.nextMessage(t); got.ID != live.ID || got.Seq != 4 {
		t.Fatalf("after the replay the stream got %+v, want %s with seq 4", got, live.ID)
	}

	wantSeqs(t, "history", seqs(a.history(t, bob, dm, "&limit=50")), seqRange(1, 4))
	if c := find(t, a.conversations(t, alice), dm.ID); c.LastSeq != 4 {
		t.Fatalf("lastSeq = %d, want 4", c.LastSeq)
	}
	expect(t, a.do(t, http.MethodGet, "/readyz", "", nil), http.StatusOK, nil)
}

// TestBinaryWithoutDatabaseURL runs the built binary as `make run` does on
// a machine with no database server: no DATABASE_URL, so the SQLite file
// relay.db in the working directory. It is ready, stores, and still has
// the message after a restart.
func TestBinaryWithoutDatabaseURL(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	dir := t.TempDir()
	env := func() map[string]string { return map[string]string{"AUTH_SECRET": string(testSecret)} }
	p := startRelayIn(t, dir, env()) // it waits for /readyz to answer 200
	alice := newUser(t, "u_alice")
	dm := p.createDM(t, alice, "u_bob")
	sent := p.send(t, alice, dm, "kept")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, waitTimeout); code != 0 {
		t.Fatalf("relay serve exited with %d after SIGTERM, want 0", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "relay.db")); err != nil {
		t.Fatalf("no relay.db in the working directory: %v", err)
	}

	again := startRelayIn(t, dir, env())
	page := again.history(t, alice, dm, "")
	if len(page) != 1 || page[0].ID != sent.ID {
		t.Fatalf("history after a restart = %+v, want the message %s", page, sent.ID)
	}
}

// TestSQLiteCommands checks createdb and migrate on an SQLite URL: createdb
// makes the file's directory and says there is nothing else to create,
// and migrate applies the schema, twice without harm.
func TestSQLiteCommands(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	path := filepath.Join(t.TempDir(), "data", "relay.db")
	env := map[string]string{"DATABASE_URL": "sqlite:" + path}
	code, stdout, stderr := runRelay(t, env, "createdb")
	if code != 0 || !strings.Contains(stdout, "nothing to create") {
		t.Fatalf("relay createdb: exit %d, stdout %q, stderr %q; want 0 and a note that SQLite needs nothing", code, stdout, stderr)
	}
	if info, err := os.Stat(filepath.Dir(path)); err != nil || !info.IsDir() {
		t.Fatalf("relay createdb did not make %s: %v", filepath.Dir(path), err)
	}
	for range 2 {
		if code, stdout, stderr := runRelay(t, env, "migrate"); code != 0 || !strings.Contains(stdout, "database schema up to date") {
			t.Fatalf("relay migrate: exit %d\n%s%s", code, stdout, stderr)
		}
	}
	// startRelay waits for /readyz to answer 200 on the migrated file.
	startRelay(t, map[string]string{"DATABASE_URL": env["DATABASE_URL"], "AUTH_SECRET": string(testSecret)})
}
