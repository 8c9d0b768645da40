// Package keyadmin is the operators' API key command: create a key for an
// account and mode, list an account's keys, revoke a key. The raw key is
// printed once, at creation, and never stored.
package keyadmin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/tenant"
)

// Usage is the command's help text.
const Usage = `usage:
  apikey create -account <id> -mode test|live   issue a key; it is printed once, alone on the last line
  apikey list   -account <id>                   list the account's keys (prefix and last four only)
  apikey revoke -key <key> | -id <id>           revoke a key (see below)
  apikey help                                   print this text (also -h, --help)

A revoked key gets 401 api_key_revoked once no warm function instance
holds it in its key cache: at once where it is not cached, and at most
API_KEY_CACHE_TTL (30s by default) later everywhere.

environment: TABLE_NAME (default webhooks-local), AWS_ENDPOINT_URL and the
rest of the standard AWS configuration chain.
`

// ErrUsage is returned for a command line that cannot be run.
var ErrUsage = errors.New("bad usage")

// hashPattern is the form of a key id: the hex SHA-256 of the key.
var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Help reports whether args (without the program name) ask for help:
// "help", or -h, -help or --help anywhere. If they do, it writes Usage to
// out. It needs no table, so a command can answer before it loads AWS
// configuration.
func Help(args []string, out io.Writer) bool {
	asked := len(args) > 0 && args[0] == "help"
	for _, a := range args {
		asked = asked || a == "-h" || a == "-help" || a == "--help"
	}
	if asked {
		fmt.Fprint(out, Usage)
	}
	return asked
}

// Command is a parsed command line, ready to run against a table.
type Command struct {
	name    string
	owner   tenant.Tenant // create
	account string        // list
	hash    string        // revoke
}

// Parse checks a command line (without the program name). Every usage
// error is found here, before any AWS configuration is needed; it is
// ErrUsage.
func Parse(args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, fmt.Errorf("%w: no command", ErrUsage)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	account := fs.String("account", "", "account id")
	mode := fs.String("mode", "", "test or live")
	raw := fs.String("key", "", "the key to revoke")
	id := fs.String("id", "", "the id (hex SHA-256) of the key to revoke")
	if err := fs.Parse(args[1:]); err != nil {
		return Command{}, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return Command{}, fmt.Errorf("%w: unexpected %q", ErrUsage, fs.Arg(0))
	}
	c := Command{name: args[0], account: *account, hash: *id}
	switch c.name {
	case "create":
		owner, err := tenant.New(*account, tenant.Mode(*mode))
		if err != nil {
			return Command{}, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		c.owner = owner
	case "list":
		if *account == "" {
			return Command{}, fmt.Errorf("%w: list needs -account", ErrUsage)
		}
	case "revoke":
		switch {
		case *raw != "" && *id != "":
			return Command{}, fmt.Errorf("%w: give -key or -id, not both", ErrUsage)
		case *raw != "":
			key, err := apikey.Parse(*raw)
			if err != nil {
				return Command{}, fmt.Errorf("%w: %v", ErrUsage, err)
			}
			c.hash = key.Hash()
		case !hashPattern.MatchString(c.hash):
			return Command{}, fmt.Errorf("%w: revoke needs -key <key> or -id <64 hex characters>", ErrUsage)
		}
	default:
		return Command{}, fmt.Errorf("%w: unknown command %q", ErrUsage, c.name)
	}
	return c, nil
}

// Run parses one command line (without the program name) and runs it
// against store, writing results to out.
func Run(ctx context.Context, args []string, store apikey.Store, out io.Writer, now time.Time) error {
	c, err := Parse(args)
	if err != nil {
		return err
	}
	return c.Run(ctx, store, out, now)
}

// Run runs the command against store, writing results to out.
func (c Command) Run(ctx context.Context, store apikey.Store, out io.Writer, now time.Time) error {
	switch c.name {
	case "create":
		key, err := apikey.Issue(ctx, store, c.owner, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "account %s, mode %s, id %s\nStore this key now; it is not shown again:\n%s\n",
			c.owner.Account, c.owner.Mode, key.Hash(), key.Raw())
		return nil
	case "list":
		recs, err := store.ListAPIKeys(ctx, c.account)
		if err != nil {
			return fmt.Errorf("list api keys of %s: %w", c.account, err)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKEY\tMODE\tSTATUS\tCREATED\tREVOKED")
		for _, r := range recs {
			status, revoked := "active", "-"
			if !r.Active {
				status = "revoked"
			}
			if !r.RevokedAt.IsZero() {
				revoked = r.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Hash, r.Hint, r.Owner.Mode, status,
				r.CreatedAt.UTC().Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if err := store.RevokeAPIKey(ctx, c.hash, now); err != nil {
			return fmt.Errorf("revoke api key %s: %w", c.hash, err)
		}
		fmt.Fprintf(out, "revoked %s\n", c.hash)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", ErrUsage, c.name)
}
