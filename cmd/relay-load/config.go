package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// minSecretLength mirrors the server's shortest accepted AUTH_SECRET, so a
// secret the server would refuse fails here with a clear message instead of
// as a wall of 401s.
const minSecretLength = 32

// The run's shapes (-shape).
const (
	// shapeGroups opens one /api/sse stream per (group, subscriber).
	shapeGroups = "groups"
	// shapeInbox opens one /api/sse/inbox stream per user, each user a
	// member of several small groups.
	shapeInbox = "inbox"
)

// The flags of one shape only: setting one for the other shape is an error,
// so that a command line never silently measures something else.
var (
	groupsOnlyFlags = []string{"groups", "subscribers"}
	inboxOnlyFlags  = []string{"users", "conversations-per-user", "members"}
)

// config is the run's configuration, from the command line.
type config struct {
	URL    string
	Secret []byte
	Shape  string // shapeGroups or shapeInbox
	// -shape groups
	Groups      int
	Subscribers int // streams per group
	// -shape inbox
	Users                int // streams, one inbox each
	ConversationsPerUser int
	Members              int // streamed members per group (besides the senders)

	Senders         int
	Rate            float64 // messages per second, all groups together; 0 holds the streams idle
	Duration        time.Duration
	Size            int // minimum content length in bytes
	OpenConcurrency int
	SetupWorkers    int
	OpenTimeout     time.Duration
	Drain           time.Duration
	JSON            bool
	CPUProfile      string // a file for this process's CPU profile, or none
	ServerPID       int    // the server's pid, for its user and kernel CPU from /proc; 0: none
}

// streams is the number of SSE streams the run opens.
func (c config) streams() int {
	if c.Shape == shapeInbox {
		return c.Users
	}
	return c.Groups * c.Subscribers
}

// groupCount is the number of groups the run creates.
func (c config) groupCount() int {
	if c.Shape == shapeInbox {
		return inboxGroupCount(c.Users, c.ConversationsPerUser, c.Members)
	}
	return c.Groups
}

// parseConfig reads the flags in args; the secret falls back to
// AUTH_SECRET from getenv. Usage goes to stderr.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var secret string
	fs := flag.NewFlagSet("relay-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "base URL of the running Relay")
	fs.StringVar(&secret, "secret", "", "AUTH_SECRET of the server, which signs the tokens (default $AUTH_SECRET)")
	fs.StringVar(&c.Shape, "shape", shapeGroups, "groups: one /api/sse stream per group member; inbox: one /api/sse/inbox stream per user, each in -conversations-per-user groups")
	fs.IntVar(&c.Groups, "groups", 10, "number of groups (-shape groups)")
	fs.IntVar(&c.Subscribers, "subscribers", 100, "SSE streams per group, each a distinct member (with the senders, at most the server's MAX_GROUP_MEMBERS) (-shape groups)")
	fs.IntVar(&c.Users, "users", 200, "users, each with one inbox stream (-shape inbox)")
	fs.IntVar(&c.ConversationsPerUser, "conversations-per-user", 100, "groups each user is in (-shape inbox)")
	fs.IntVar(&c.Members, "members", 4, "users per group besides the senders, drawn anew for every round of groups (-shape inbox)")
	fs.IntVar(&c.Senders, "senders", 4, "posting users, each a member of every group and one concurrent POST at a time")
	fs.Float64Var(&c.Rate, "rate", 200, "messages per second over all groups (0: no traffic, hold the streams idle)")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "how long to send (or hold the streams when -rate 0)")
	fs.IntVar(&c.Size, "size", 0, "pad each message's content to at least this many bytes")
	fs.IntVar(&c.OpenConcurrency, "open-concurrency", 100, "streams being opened at the same time")
	fs.IntVar(&c.SetupWorkers, "setup-workers", 8, "concurrent requests while creating groups")
	fs.DurationVar(&c.OpenTimeout, "open-timeout", 2*time.Minute, "how long opening every stream may take")
	fs.DurationVar(&c.Drain, "drain", 10*time.Second, "how long to wait after the last send for every delivery")
	fs.BoolVar(&c.JSON, "json", false, "print the summary as JSON too, after the text")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "the server's process id, when it runs on this machine: its user and kernel CPU time are read from /proc and reported apart")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file (go tool pprof), to see what the client costs")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := checkShapeFlags(c.Shape, setFlags(fs)); err != nil {
		return config{}, err
	}
	if secret == "" {
		secret = getenv("AUTH_SECRET")
	}
	c.Secret = []byte(secret)
	c.URL = strings.TrimRight(c.URL, "/")
	return c, c.validate()
}

// validate checks the ranges the run needs; it names the flag at fault.
func (c config) validate() error {
	var errs []error
	check := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	u, err := url.Parse(c.URL)
	check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "-url: %q is not an http(s) URL", c.URL)
	check(len(c.Secret) >= minSecretLength, "-secret (or AUTH_SECRET): at least %d bytes are required", minSecretLength)
	switch c.Shape {
	case shapeGroups:
		check(c.Groups >= 1, "-groups: must be at least 1")
		check(c.Subscribers >= 1, "-subscribers: must be at least 1")
	case shapeInbox:
		check(c.Users >= 1, "-users: must be at least 1")
		check(c.ConversationsPerUser >= 1, "-conversations-per-user: must be at least 1")
		check(c.Members >= 1 && c.Members <= max(c.Users, 1), "-members: must be from 1 to -users (%d)", c.Users)
	default:
		check(false, "-shape: %q is neither %s nor %s", c.Shape, shapeGroups, shapeInbox)
	}
	check(c.Senders >= 1, "-senders: must be at least 1")
	check(c.Rate >= 0, "-rate: must not be negative")
	check(c.Duration > 0, "-duration: must be positive")
	check(c.Size >= 0 && c.Size <= maxContentBytes, "-size: must be from 0 to %d", maxContentBytes)
	check(c.OpenConcurrency >= 1, "-open-concurrency: must be at least 1")
	check(c.SetupWorkers >= 1, "-setup-workers: must be at least 1")
	check(c.OpenTimeout > 0, "-open-timeout: must be positive")
	check(c.Drain > 0, "-drain: must be positive")
	check(c.ServerPID >= 0, "-server-pid: must not be negative")
	return errors.Join(errs...)
}

// setFlags returns the names of the flags the command line set.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// checkShapeFlags refuses a flag of the other shape than shape.
func checkShapeFlags(shape string, set map[string]bool) error {
	var other []string
	switch shape {
	case shapeGroups:
		other = inboxOnlyFlags
	case shapeInbox:
		other = groupsOnlyFlags
	}
	var errs []error
	for _, name := range other {
		if set[name] {
			errs = append(errs, fmt.Errorf("-%s: does not apply to -shape %s", name, shape))
		}
	}
	return errors.Join(errs...)
}
