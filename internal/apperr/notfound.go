package apperr

import "fmt"

// ResourceMissing is the error of a resource the caller does not have
// (NotFound, CodeResourceMissing): what names its kind ("webhook",
// "delivery") and param the path parameter that named it. It is the same
// whether the resource does not exist or belongs to another account or
// mode, so that existence does not leak.
//
// The message quotes id only when it has the form of the service's ids
// (wellFormed). Anything else sent in its place, such as an API key pasted
// into a path by mistake, is never repeated: the message says that param
// is not a what id instead.
func ResourceMissing(param, what, id string, wellFormed bool) *Error {
	msg := fmt.Sprintf("no such %s: %q", what, id)
	if !wellFormed {
		msg = fmt.Sprintf("no such %s: the %s in the path is not a %s id", what, param, what)
	}
	return &Error{Kind: NotFound, Code: CodeResourceMissing, Param: param, Message: msg}
}
