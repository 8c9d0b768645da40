package api

// The request body as JSON: an object's members, raw, with the text
// encoding/json would silently repair refused.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/apperr"
)

// jsonObject reads the request body as a JSON object. An empty body is
// allowed (nil members) only when optional is set.
func jsonObject(req events.APIGatewayV2HTTPRequest, optional bool) (map[string]json.RawMessage, error) {
	b, err := body(req)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 && optional {
		return nil, nil
	}
	if len(b) > 0 {
		if err := checkJSONContentType(req); err != nil {
			return nil, err
		}
	}
	return decodeObject(b)
}

// decodeObject reads a JSON object into its raw members. It rejects empty
// bodies, invalid JSON (trailing data included), non-objects and duplicate
// member names with 400.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	invalid := func(msg string) error { return apperr.New(apperr.Invalid, apperr.CodeBodyInvalid, msg) }
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, invalid("the request body is empty; send a JSON object")
	}
	if !json.Valid(b) {
		return nil, invalid("the request body is not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return nil, invalid("the request body must be a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("the request body is not valid JSON")
		}
		name, _ := tok.(string) // json.Valid guarantees member names are strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalid("the request body is not valid JSON")
		}
		if _, dup := members[name]; dup {
			return nil, &apperr.Error{Kind: apperr.Invalid, Code: apperr.CodeParameterDuplicated,
				Message: fmt.Sprintf("parameter %s appears more than once", apperr.Quote(name)), Param: apperr.EchoParam(name)}
		}
		members[name] = raw
	}
	return members, checkText(b, members)
}

// checkText refuses text that encoding/json would silently repair: invalid
// UTF-8 and unpaired UTF-16 surrogates (such as "\ud800"), which it turns
// into U+FFFD. It names every member whose value holds such text; if only a
// member name does, the body as a whole is refused.
func checkText(b []byte, members map[string]json.RawMessage) error {
	if validText(b) {
		return nil
	}
	var problems []apperr.FieldError
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if !validText(members[name]) {
			problems = append(problems, apperr.FieldError{Param: apperr.EchoParam(name), Code: apperr.CodeParameterInvalidEncoding,
				Message: apperr.Echo(name) + " must be valid UTF-8 text without unpaired surrogates"})
		}
	}
	if len(problems) == 0 {
		return apperr.New(apperr.Invalid, apperr.CodeBodyInvalid, "a parameter name is not valid UTF-8 text")
	}
	return apperr.Validation(problems)
}

// validText reports whether b, JSON that json.Valid accepted, is valid
// UTF-8 and escapes no unpaired surrogate. Backslashes only occur inside
// strings there, and each \u is followed by four hex digits.
func validText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if b[i] != 'u' {
			continue
		}
		r := hex4(b[i+1:])
		i += 4
		switch {
		case utf16.IsSurrogate(r) && r >= 0xdc00: // a low surrogate first
			return false
		case utf16.IsSurrogate(r): // a high surrogate needs a low one next
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return false
			}
			if low := hex4(b[i+3:]); !utf16.IsSurrogate(low) || low < 0xdc00 {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 reads the four hex digits at the start of b.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b[:4]), 16, 32) // json.Valid checked the digits
	return rune(n)
}
