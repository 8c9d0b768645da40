package devstack

import (
	"strings"

	"github.com/docproc/webhooks/internal/apperr"
	appconfig "github.com/docproc/webhooks/internal/config"
)

// localHints are the hints make run's access lines end with, by error
// code: the local fix for an error whose answer, like every answer of the
// API, must not talk about the server's settings. data says where the
// local data is kept and how to start empty.
//
// A webhook on this machine must be registered by address: the service
// refuses single-label names such as localhost whatever
// ALLOWED_DESTINATION_CIDRS says, as it would in AWS, since the allowlist
// is of addresses and a name is only judged by its address when dialled.
func (s Settings) localHints(data string) map[string]string {
	forbidden := "make run refuses loopback and private addresses unless " + appconfig.EnvAllowedCIDRs +
		" allows them: for a receiver on this machine, restart make run with " + appconfig.EnvAllowedCIDRs +
		"=127.0.0.1/32 (and, for the sample receiver, DELIVERY_CA_FILE=.local/receiver-ca.pem) and register the receiver's address, such as " +
		s.ReceiverURL + " (a name such as localhost stays refused)"
	if allowed := s.Function.AllowedDestinations; len(allowed) > 0 {
		prefixes := make([]string, len(allowed))
		for i, p := range allowed {
			prefixes[i] = p.String()
		}
		forbidden = "make run allows only the addresses in " + appconfig.EnvAllowedCIDRs + "=" + strings.Join(prefixes, ",") +
			", and only by address: a name such as localhost stays refused (register " + s.ReceiverURL + ", not https://localhost:…/)"
	}
	return map[string]string{
		apperr.CodeURLForbiddenHost: forbidden,
		apperr.CodeWebhookLimitReached: "the webhooks of earlier runs count too: delete those you no longer need " +
			"(DELETE /v1/webhooks/{id}), or start empty: " + data,
	}
}
