// Package cli is the reelay command line: `reelay` (or `reelay serve`) runs
// the service, and the other commands operate a running instance through
// its admin API (/admin/v1) over HTTP — dead letters (`dlq`), consumer lag
// (`lag`) and topics (`topics`).
//
// The commands take everything from Deps (environment, output streams, the
// serve function), so a test builds them with New, sets arguments and
// streams with cobra's SetArgs, SetOut and SetErr, and gets the exit status
// from Execute — no globals, no process environment.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Exit statuses of Execute.
const (
	ExitOK        = 0 // success
	ExitFailed    = 1 // the request failed: server unreachable, or a 4xx/5xx answer
	ExitUsage     = 2 // wrong arguments or flags
	ExitAttention = 3 // lag found a stuck partition; a replay dead-lettered or skipped records
)

// Deps is what the commands take from the process: main passes Getenv,
// Stdout, Stderr and Serve; the rest have defaults. A nil Getenv reads an
// empty environment, a nil stream discards.
type Deps struct {
	// Getenv reads REELAY_ADMIN_URL, REELAY_ADMIN_TOKEN,
	// REELAY_ADMIN_TOKEN_FILE and USER.
	Getenv func(string) string
	// Stdout gets tables and JSON; Stderr gets errors and replay progress.
	// cobra's SetOut and SetErr on the command from New replace them.
	Stdout, Stderr io.Writer
	// Serve runs the service until it stops and returns its exit status;
	// `reelay` without arguments and `reelay serve` call it.
	Serve func() int

	// HTTPClient sends the admin requests; nil means a client of its own.
	HTTPClient *http.Client
	// Now is the clock for "12s ago"; nil means time.Now.
	Now func() time.Time
	// PollInterval is how often a replay's progress is asked for; zero
	// means 500 ms.
	PollInterval time.Duration
	// IsTerminal says whether w is a terminal, where replay progress is
	// one line rewritten with \r; nil means a check of an *os.File.
	IsTerminal func(w io.Writer) bool
}

func (d *Deps) setDefaults() {
	if d.Getenv == nil {
		d.Getenv = func(string) string { return "" }
	}
	if d.Stdout == nil {
		d.Stdout = io.Discard
	}
	if d.Stderr == nil {
		d.Stderr = io.Discard
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.PollInterval <= 0 {
		d.PollInterval = 500 * time.Millisecond
	}
	if d.IsTerminal == nil {
		d.IsTerminal = func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		}
	}
}

const defaultURL = "http://127.0.0.1:8080"

const exitCodesHelp = `Exit status:
  0  success
  1  the request failed: server unreachable, or an error answer (printed as
     "reelay: <code>: <message>")
  2  usage error: unknown command, wrong arguments or flags
  3  attention: lag found a stuck partition, or a replay ended with records
     dead-lettered again (failedAgain) or skipped`

// env holds the global flags and what the commands share.
type env struct {
	deps      Deps
	url       string
	tokenFile string
	json      bool
	timeout   time.Duration
}

// client builds the admin API client from the global flags. The token comes
// from --token-file, else $REELAY_ADMIN_TOKEN, else the file
// $REELAY_ADMIN_TOKEN_FILE names (the variables the server reads too).
func (e *env) client() (*client, error) {
	token := e.deps.Getenv("REELAY_ADMIN_TOKEN")
	file, from := e.tokenFile, "--token-file"
	if file == "" && token == "" {
		file, from = e.deps.Getenv("REELAY_ADMIN_TOKEN_FILE"), "REELAY_ADMIN_TOKEN_FILE"
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, usageErrorf("%s: %v", from, err)
		}
		token = strings.TrimSpace(string(b))
	}
	if e.timeout <= 0 {
		return nil, usageErrorf("--timeout must be positive, not %s", e.timeout)
	}
	base := strings.TrimRight(e.url, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, usageErrorf("--url %q: want http:// or https://", e.url)
	}
	return &client{base: base, token: token, timeout: e.timeout, http: e.deps.HTTPClient}, nil
}

// New returns the reelay command with its subcommands. Run it with Execute.
func New(d Deps) *cobra.Command {
	d.setDefaults()
	e := &env{deps: d}

	root := &cobra.Command{
		Use:   "reelay",
		Short: "Run the Reelay service, or operate a running one",
		Long: `reelay without a command runs the service (as "reelay serve"), configured by
REELAY_* variables.

The other commands talk to a running instance's admin API: --url (default
$REELAY_ADMIN_URL, else ` + defaultURL + `), with the token of --token-file,
else $REELAY_ADMIN_TOKEN, else the file $REELAY_ADMIN_TOKEN_FILE names.

` + exitCodesHelp,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          serveRunE(d.Serve),
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetOut(d.Stdout)
	root.SetErr(d.Stderr)

	adminURL := d.Getenv("REELAY_ADMIN_URL")
	if adminURL == "" {
		adminURL = defaultURL
	}
	f := root.PersistentFlags()
	f.StringVar(&e.url, "url", adminURL, "admin API base URL ($REELAY_ADMIN_URL)")
	f.StringVar(&e.tokenFile, "token-file", "", "file holding the admin token (default: $REELAY_ADMIN_TOKEN, $REELAY_ADMIN_TOKEN_FILE)")
	f.BoolVar(&e.json, "json", false, "print the API's JSON answer, indented")
	f.DurationVar(&e.timeout, "timeout", 10*time.Second, "deadline of each request")

	root.AddCommand(
		&cobra.Command{
			Use:   "serve",
			Short: "Run the service (the default)",
			Long: `Run the service: the HTTP API and the consumers, configured by REELAY_*
variables, until SIGINT or SIGTERM. Exit status 0 after a clean stop, 1 when
start-up fails, 2 for an invalid configuration value.`,
			Args: cobra.NoArgs,
			RunE: serveRunE(d.Serve),
		},
		dlqCommand(e),
		lagCommand(e),
		topicsCommand(e),
	)
	return root
}

func serveRunE(serve func() int) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		// The global flags are the admin commands'; serving is configured
		// by REELAY_* variables alone.
		var set []string
		cmd.Flags().Visit(func(f *pflag.Flag) { set = append(set, "--"+f.Name) })
		if len(set) > 0 {
			return usageErrorf("%s: not for serving, which REELAY_* variables configure", strings.Join(set, ", "))
		}
		if serve == nil {
			return &exitError{code: ExitFailed, err: errors.New("this build cannot serve")}
		}
		if code := serve(); code != ExitOK {
			return &exitError{code: code} // serve has said why
		}
		return nil
	}
}

// Execute runs root (from New; its arguments are os.Args[1:] unless
// SetArgs gave others) and returns the exit status.
// An error is printed as one line on root's error stream: "reelay: " and
// the API's code and message, or the cause.
func Execute(ctx context.Context, root *cobra.Command) int {
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	stderr := root.ErrOrStderr()
	var ee *exitError
	if !errors.As(err, &ee) {
		// Not from a command's run: cobra refused the arguments or flags.
		ee = &exitError{code: ExitUsage, err: err}
	}
	if ee.err != nil {
		fmt.Fprintln(stderr, "reelay: "+ee.err.Error())
	}
	if ee.code == ExitUsage && ee.err != nil && cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ee.code
}

// exitError ends a command with an exit status; err, when not nil, is
// printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// attention ends a command with ExitAttention, its output already written.
func attention() error { return &exitError{code: ExitAttention} }

// run adapts a command's work to cobra: an error that is not already an
// exitError (a failed request) ends with ExitFailed.
func run(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := f(cmd, args)
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			return err
		}
		return &exitError{code: ExitFailed, err: err}
	}
}
