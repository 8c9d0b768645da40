package bench

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/dev/local/devstack"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
)

// TestItemSize checks ItemSize against DynamoDB's rules: names count,
// strings and binaries by their bytes, numbers 1 byte per two significant
// digits plus 1, Booleans 1, maps 3 plus 1 per element.
func TestItemSize(t *testing.T) {
	for _, c := range []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"string", map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "EVENT#a"}}, 2 + 7},
		{"binary", map[string]types.AttributeValue{"payload": &types.AttributeValueMemberB{Value: make([]byte, 1000)}}, 7 + 1000},
		{"ttl", map[string]types.AttributeValue{"expires_at": &types.AttributeValueMemberN{Value: "1767225600"}}, 10 + 4 + 1},
		{"zeros trimmed", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "1000"}}, 1 + 1 + 1},
		{"odd digits", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "204"}}, 1 + 2 + 1},
		{"bool", map[string]types.AttributeValue{"test": &types.AttributeValueMemberBOOL{Value: true}}, 4 + 1},
		{"map", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"k": &types.AttributeValueMemberS{Value: "vv"}}}}, 1 + 3 + 1 + 1 + 2},
	} {
		if got := ItemSize(c.item); got != c.want {
			t.Errorf("%s: ItemSize = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestIndexEntriesSize checks that an item's index entry holds the keys and
// the projected attributes only, and that an item in no index has none.
func TestIndexEntriesSize(t *testing.T) {
	var tbl samtemplate.Table
	tmpl, err := samtemplate.Load("../../../template.yaml")
	if err == nil {
		err = tmpl.Decode(devstack.TableLogicalID, "AWS::DynamoDB::Table", &tbl)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	event := map[string]types.AttributeValue{
		"pk": s("EVENT#a#live#e"), "sk": s("EVENT"), "events_pk": s("EVENTS#a#live#2026-12-01"), "events_sk": s("t#e"),
		"event_id": s("e"), "event_type": s("x"), "time": s("t"), "expires_at": &types.AttributeValueMemberN{Value: "12"},
		"payload": &types.AttributeValueMemberB{Value: make([]byte, 1000)}, "source_id": s("src"),
	}
	want := ItemSize(event) - ItemSize(map[string]types.AttributeValue{"payload": event["payload"], "source_id": event["source_id"]})
	if got := IndexEntriesSize(tbl, event); got != want {
		t.Errorf("event's index entry: %d B, want %d (keys and projected attributes)", got, want)
	}
	delete(event, "events_pk")
	delete(event, "events_sk")
	if got := IndexEntriesSize(tbl, event); got != 0 {
		t.Errorf("unindexed item's entries: %d B, want 0", got)
	}
}
