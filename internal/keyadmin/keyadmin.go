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

// Run runs one command line (without the program name) against store,
// writing results to out.
func Run(ctx context.Context, args []string, store apikey.Store, out io.Writer, now time.Time) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command", ErrUsage)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	account := fs.String("account", "", "account id")
	mode := fs.String("mode", "", "test or live")
	raw := fs.String("key", "", "the key to revoke")
	id := fs.String("id", "", "the id (hex SHA-256) of the key to revoke")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected %q", ErrUsage, fs.Arg(0))
	}
	switch args[0] {
	case "create":
		owner, err := tenant.New(*account, tenant.Mode(*mode))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		key, err := apikey.Issue(ctx, store, owner, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "account %s, mode %s, id %s\nStore this key now; it is not shown again:\n%s\n",
			owner.Account, owner.Mode, key.Hash(), key.Raw())
		return nil
	case "list":
		if *account == "" {
			return fmt.Errorf("%w: list needs -account", ErrUsage)
		}
		recs, err := store.ListAPIKeys(ctx, *account)
		if err != nil {
			return fmt.Errorf("list api keys of %s: %w", *account, err)
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
		hash := *id
		switch {
		case *raw != "" && *id != "":
			return fmt.Errorf("%w: give -key or -id, not both", ErrUsage)
		case *raw != "":
			key, err := apikey.Parse(*raw)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrUsage, err)
			}
			hash = key.Hash()
		case !hashPattern.MatchString(hash):
			return fmt.Errorf("%w: revoke needs -key <key> or -id <64 hex characters>", ErrUsage)
		}
		if err := store.RevokeAPIKey(ctx, hash, now); err != nil {
			return fmt.Errorf("revoke api key %s: %w", hash, err)
		}
		fmt.Fprintf(out, "revoked %s\n", hash)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
}
