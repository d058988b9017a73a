// Command relay is the Relay messaging service: `relay serve` (the
// default) runs it, `relay migrate` applies the database migrations,
// `relay createdb` creates the PostgreSQL database named in DATABASE_URL
// (for SQLite, only the file's directory), `relay token` prints a signed
// API token for trying the API by hand, and `relay tail` prints a
// conversation's messages as they arrive.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/relaymsg/relay/adapters/authtoken"
	"github.com/relaymsg/relay/cmd/relay/app"
)

const usage = `usage: relay [command] [flags]

commands:
  serve      run the service (default)
  migrate    apply the database migrations to DATABASE_URL and exit
  createdb   create the PostgreSQL database named in DATABASE_URL if it is
             missing (SQLite: only the file's directory; Relay creates the file)
  token      print an API token signed with AUTH_SECRET:
             relay token --sub USER [--admin] [--ttl 1h]
  tail       print a conversation's messages as they arrive, resuming
             after every disconnect:
             relay tail --channel dm:dm_… [--channel …] [--token T]
             relay tail --inbox [--user u_…] [--token T]
             [--url http://127.0.0.1:8080] [--json] [--cursor ID]

Configuration comes from the environment; see README.md.
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the exit, so that it can be tested.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(getenv, stdout)
	case "migrate":
		err = migrate(getenv, stdout)
	case "createdb":
		err = createDB(getenv, stdout)
	case "token":
		err = token(args, getenv, stdout, stderr)
	case "tail":
		err = tailCmd(args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "relay: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func serve(getenv func(string) string, stdout io.Writer) error {
	cfg, err := app.LoadConfig(getenv)
	if err != nil {
		return err
	}
	logger := app.NewLogger(cfg, stdout)
	a := app.New(cfg, logger)
	startCtx, cancel := context.WithTimeout(context.Background(), a.StartTimeout())
	defer cancel()
	if err := a.Start(startCtx); err != nil {
		return err
	}
	if cfg.Dev {
		fmt.Fprint(stdout, app.DevBanner(cfg, app.StoreDescription(cfg)))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case s := <-sig:
		logger.Info("shutting down", "signal", s.String())
	case done := <-a.Wait():
		logger.Info("shutting down", "exit_code", done.ExitCode)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), a.StopTimeout())
	defer cancel()
	return a.Stop(stopCtx)
}

func migrate(getenv func(string) string, stdout io.Writer) error {
	cfg, err := app.LoadStoreConfig(getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return app.Migrate(ctx, cfg, app.NewLogger(app.Config{LogFormat: "text"}, stdout))
}

func createDB(getenv func(string) string, stdout io.Writer) error {
	cfg, err := app.LoadStoreConfig(getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done, err := app.CreateDatabase(ctx, cfg)
	if done != "" {
		fmt.Fprintln(stdout, done)
	}
	return err
}

func token(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "user id (the token's sub claim); required")
	admin := fs.Bool("admin", false, "make a service token, which may read and post in any conversation")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("--sub is required and no arguments are taken")
	}
	secret, err := app.LoadAuthSecret(getenv)
	if err != nil {
		return err
	}
	tok, err := authtoken.Sign(secret, *sub, *admin, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
