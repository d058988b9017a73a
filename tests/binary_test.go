package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/postgres/pgtest"
)

// binDir is where TestMain lets the tests build the relay binary.
var binDir string

var relayBuild struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// relayBinary builds ./cmd/relay once per test run and returns its path.
// Tests that run the binary are not unit tests: -short skips them.
func relayBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the relay binary; skipped in -short mode")
	}
	relayBuild.once.Do(func() {
		relayBuild.path = filepath.Join(binDir, "relay")
		cmd := exec.Command("go", "build", "-o", relayBuild.path, "github.com/relaymsg/relay/cmd/relay")
		relayBuild.out, relayBuild.err = cmd.CombinedOutput()
	})
	if relayBuild.err != nil {
		t.Fatalf("go build ./cmd/relay: %v\n%s", relayBuild.err, relayBuild.out)
	}
	return relayBuild.path
}

// environ is exactly env and PATH, so that nothing of the machine's
// environment (a REDIS_URL, say) leaks into the service.
func environ(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runRelay runs the binary with args and env to completion.
func runRelay(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var out, errOut strings.Builder
	cmd := exec.CommandContext(ctx, relayBinary(t), args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = environ(env), &out, &errOut
	err := cmd.Run()
	if _, ok := errors.AsType[*exec.ExitError](err); err != nil && !ok {
		t.Fatalf("relay %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("relay %v did not finish within %s", args, waitTimeout)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// relayProcess is `relay serve` running as a subprocess.
type relayProcess struct {
	*api
	addr   string
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
}

// startRelay starts `relay serve` with env on env's ADDR, or a free port
// when it has none, and waits until /readyz answers 200. The process is
// killed when t ends if it still runs.
func startRelay(t *testing.T, env map[string]string) *relayProcess {
	t.Helper()
	return startRelayIn(t, "", env)
}

// startRelayIn is startRelay in the working directory dir ("": this one).
func startRelayIn(t *testing.T, dir string, env map[string]string) *relayProcess {
	t.Helper()
	addr := env["ADDR"]
	if addr == "" {
		addr = freeAddr(t)
	}
	env["ADDR"] = addr
	withTestLimits(env)
	p := &relayProcess{api: newAPI(t, "http://"+addr), addr: addr, logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(relayBinary(t), "serve")
	p.cmd.Dir = dir
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = environ(env), p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("relay serve output:\n%s", p.logs)
		}
	})
	waitFor(t, "relay serve to be ready", func() bool {
		select {
		case <-p.exited:
			t.Fatalf("relay serve exited during start-up:\n%s", p.logs)
		default:
		}
		r, err := p.request(http.MethodGet, "/readyz", "", nil)
		return err == nil && r.status == http.StatusOK
	})
	return p
}

// waitExit waits up to within for the process to exit and returns its code.
func (p *relayProcess) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("relay serve did not exit within %s", within)
		return 0
	}
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	pgtest.SkipIfShort(t)
	db, dsn := pgtest.NewDatabase(t)
	const shutdownTimeout = 10 * time.Second
	p := startRelay(t, map[string]string{
		"DATABASE_URL":     dsn,
		"AUTH_SECRET":      string(testSecret),
		"SHUTDOWN_TIMEOUT": shutdownTimeout.String(),
	})
	alice := newUser(t, "u_alice")
	dm := p.createDM(t, alice, "u_bob")
	s := p.openStream(t, alice, []string{dm.channel()}, streamOpts{})
	before := p.send(t, alice, dm, "before")
	if got, _ := s.nextMessage(t); got.ID != before.ID {
		t.Fatalf("got %+v, want %s", got, before.ID)
	}

	// A POST in flight: its handler runs and waits for the body. (The 100
	// Continue answer to "Expect: 100-continue" is sent when the handler
	// starts reading the body: only then is the request surely accepted,
	// not still waiting in the listener's backlog.)
	body, err := json.Marshal(messageBody(dm, "in flight"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", p.addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, "POST /api/messages HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", p.addr, alice.token, len(body)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if cont, err := http.ReadResponse(br, nil); err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("the in-flight POST: %v, %v; want 100 Continue", cont, err)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The stream ends cleanly, with no message lost or invented.
	rest, err := s.waitEnd(t)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("on SIGTERM the stream ended with %v, want a clean end (EOF)", err)
	}
	for _, b := range rest {
		if b.IsDispatched() {
			t.Fatalf("on SIGTERM the stream got %q", b.Raw)
		}
	}
	// New connections are refused while the in-flight request finishes.
	waitFor(t, "new connections to be refused", func() bool {
		c, err := net.DialTimeout("tcp", p.addr, waitTimeout)
		if err == nil {
			c.Close()
		}
		return refused(err)
	})
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the in-flight POST got no answer: %v", err)
	}
	defer resp.Body.Close()
	var m message
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusCreated || m.Seq != 2 {
		t.Fatalf("the in-flight POST: status %d, %+v, %v; want 201 with seq 2", resp.StatusCode, m, err)
	}

	if code := p.waitExit(t, shutdownTimeout+5*time.Second); code != 0 {
		t.Fatalf("relay serve exited with %d after SIGTERM, want 0", code)
	}
	if _, err := net.DialTimeout("tcp", p.addr, waitTimeout); !refused(err) {
		t.Fatalf("dialling after the exit: %v, want connection refused", err)
	}
	var stored int
	if err := db.Get(&stored, `SELECT count(*) FROM messages WHERE id = $1`, m.ID); err != nil || stored != 1 {
		t.Fatalf("the in-flight message is stored %d times (%v), want once", stored, err)
	}
}

func TestBadConfigStopsStartup(t *testing.T) {
	t.Parallel()
	valid := map[string]string{
		"ADDR":         "127.0.0.1:0",
		"DATABASE_URL": "postgres://postgres@127.0.0.1:1/none?sslmode=disable",
		"AUTH_SECRET":  string(testSecret),
	}
	tests := []struct {
		variable, value string
	}{
		{"HEARTBEAT_INTERVAL", "banana"},
		{"SUBSCRIBER_QUEUE_SIZE", "-1"},
		{"AUTH_SECRET", "too-short"},
		{"DATABASE_URL", "mysql://127.0.0.1/relay"},
		{"ADDR", "nowhere"},
	}
	for _, tt := range tests {
		t.Run(tt.variable, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range valid {
				env[k] = v
			}
			env[tt.variable] = tt.value
			code, _, stderr := runRelay(t, env, "serve")
			if code == 0 {
				t.Fatalf("relay serve with %s=%q exited 0", tt.variable, tt.value)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.variable) {
				t.Fatalf("stderr is %q, want one line naming %s", stderr, tt.variable)
			}
		})
	}
}

func TestTokenCommand(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runRelay(t, map[string]string{"AUTH_SECRET": string(testSecret)}, "token", "--sub", "u1")
	if code != 0 || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("relay token: exit %d, stdout %q, stderr %q; want 0 and one line", code, stdout, stderr)
	}
	_, admin, _ := runRelay(t, map[string]string{"AUTH_SECRET": string(testSecret)}, "token", "--sub", "svc", "--admin")

	a := startApp(t)
	u1 := user{id: "u1", token: strings.TrimSpace(stdout)}
	// Only u1 may create a DM that has u1 in it: the token's sub is u1.
	dm := a.createDM(t, u1, "u2")
	find(t, a.conversations(t, u1), dm.ID)
	wantError(t, a.do(t, http.MethodGet, "/api/sse/stats", u1.token, nil), http.StatusForbidden, "")
	expect(t, a.do(t, http.MethodGet, "/api/sse/stats", strings.TrimSpace(admin), nil), http.StatusOK, nil)

	if code, _, stderr := runRelay(t, map[string]string{"AUTH_SECRET": string(testSecret)}, "token"); code == 0 {
		t.Fatalf("relay token without --sub exited 0 (stderr %q)", stderr)
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	pgtest.SkipIfShort(t)
	db, dsn := pgtest.NewEmptyDatabase(t)
	tables := func() []string {
		var names []string
		if err := db.Select(&names, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`); err != nil {
			t.Fatal(err)
		}
		return names
	}
	if got := tables(); len(got) != 0 {
		t.Fatalf("the fresh database already has tables %v", got)
	}
	for range 2 { // the second run finds everything applied
		if code, stdout, stderr := runRelay(t, map[string]string{"DATABASE_URL": dsn}, "migrate"); code != 0 {
			t.Fatalf("relay migrate: exit %d\n%s%s", code, stdout, stderr)
		}
	}
	want := []string{"conversation_members", "conversations", "messages", "schema_migrations", "user_departures", "user_logs"}
	if got := tables(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after relay migrate the tables are %v, want %v", got, want)
	}
}
