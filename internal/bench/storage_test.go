package bench

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
