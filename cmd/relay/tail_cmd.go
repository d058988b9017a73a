package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/relaymsg/relay/adapters/authtoken"
	"github.com/relaymsg/relay/cmd/relay/app"
	"github.com/relaymsg/relay/cmd/relay/tail"
)

// tailSubject is the sub of the service token tail makes itself from
// AUTH_SECRET; it shows in the server's access log.
const tailSubject = "svc_relay_tail"

// channelList is a repeatable --channel flag.
type channelList []string

func (c *channelList) String() string { return strings.Join(*c, ",") }

func (c *channelList) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*c = append(*c, part)
		}
	}
	return nil
}

func tailCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var channels channelList
	fs.Var(&channels, "channel", "channel to follow, dm:dm_… or group:grp_… (repeatable, or comma-separated); required unless --inbox")
	inbox := fs.Bool("inbox", false, "follow the whole inbox (every conversation, now and later) instead of channels")
	user := fs.String("user", "", "with --inbox and a service token: whose inbox to follow")
	tokenFlag := fs.String("token", "", "bearer token (default: RELAY_TOKEN, else a service token signed with AUTH_SECRET)")
	defaultURL := getenv("RELAY_URL")
	if defaultURL == "" {
		addr := getenv("ADDR")
		if addr == "" {
			addr = app.DefaultAddr
		}
		defaultURL = app.URL(app.Config{Addr: addr})
	}
	url := fs.String("url", defaultURL, "the service's address (default: RELAY_URL, else from ADDR)")
	asJSON := fs.Bool("json", false, "print each message as the JSON the stream carries, one per line")
	cursor := fs.String("cursor", "", "resume from this cursor (an event id printed by an earlier run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := tailFlagsError(len(channels) > 0, *inbox, *user != "", fs.NArg()); err != nil {
		fs.Usage()
		return err
	}
	token, err := tailToken(*tokenFlag, getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return tail.Run(ctx, tail.Options{
		BaseURL: *url, Channels: channels, Inbox: *inbox, User: *user, Token: token, JSON: *asJSON, Cursor: *cursor,
	}, stdout, stderr)
}

// tailFlagsError rejects flag combinations no stream answers: one of
// --channel and --inbox, --user only with --inbox, no arguments.
func tailFlagsError(channels, inbox, user bool, nargs int) error {
	switch {
	case nargs > 0:
		return errors.New("no arguments are taken: name channels with --channel")
	case channels && inbox:
		return errors.New("--inbox follows every conversation: it excludes --channel")
	case !channels && !inbox:
		return errors.New("--channel or --inbox is required")
	case user && !inbox:
		return errors.New("--user names whose inbox to follow: it requires --inbox")
	}
	return nil
}

// tailToken picks the token: --token, RELAY_TOKEN, or a service token made
// from AUTH_SECRET, which may read any conversation. That one has no
// expiry: it never leaves the process, and a tail should not end after an
// hour.
func tailToken(flagValue string, getenv func(string) string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if t := strings.TrimSpace(getenv("RELAY_TOKEN")); t != "" {
		return t, nil
	}
	if strings.TrimSpace(getenv("AUTH_SECRET")) == "" {
		return "", errors.New("no token: pass --token or set RELAY_TOKEN (in dev mode: POST /dev/token), or set AUTH_SECRET")
	}
	secret, err := app.LoadAuthSecret(getenv)
	if err != nil {
		return "", err
	}
	tok, err := authtoken.Sign(secret, tailSubject, true, 0, time.Now())
	if err != nil {
		return "", fmt.Errorf("sign a service token: %w", err)
	}
	return tok, nil
}
