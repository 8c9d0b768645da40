package secrets_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestCreateAndDelete(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		client := secretsmanager.NewFromConfig(b.Config(t))
		prefix := testenv.Unique("webhooks/s")
		s := secrets.New(client, prefix+"/", "")
		sec := webhook.NewSecret{Owner: tenant.Tenant{Account: "acct_9", Mode: tenant.Live},
			WebhookID: "wh_01KBDX0000000000000000000B", Value: webhook.SigningSecretOf("whsec_abc"), SHA256: webhook.HashSecret("whsec_abc")}
		if got, want := s.Ref(sec.Owner, sec.WebhookID), prefix+"/live/acct_9/wh_01KBDX0000000000000000000B"; got != want {
			t.Errorf("Ref = %q, want %q (one slash after the prefix)", got, want)
		}
		arn, err := s.Create(ctx, sec)
		if err != nil {
			t.Fatal(err)
		}
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		var v secrets.Value
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil || v.SigningSecret != "whsec_abc" || v.SigningSecretSHA256 != sec.SHA256 {
			t.Errorf("stored value = %+v, %v", v, err)
		}
		// A retry of the same create (its answer lost) gets the same secret;
		// another secret under the name is refused.
		if again, err := s.Create(ctx, sec); err != nil || again != arn {
			t.Errorf("the same create again: %q, %v; want %q", again, err, arn)
		}
		other := sec
		other.Value, other.SHA256 = webhook.SigningSecretOf("whsec_other"), webhook.HashSecret("whsec_other")
		if _, err := s.Create(ctx, other); err == nil {
			t.Error("a second secret with the same name was created")
		}
		if err := s.Delete(ctx, arn); err != nil {
			t.Fatal(err)
		}
		if _, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)}); err == nil {
			t.Error("secret still exists after Delete")
		}
		if err := s.Delete(ctx, arn); err != nil {
			t.Errorf("deleting a deleted secret: %v, want nil", err)
		}
	})
}
