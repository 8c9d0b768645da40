package apperr

// FieldError is one problem with one request field.
type FieldError struct {
	// Param names the field, as the caller wrote it (for example "url").
	Param string `json:"param"`
	// Code is a stable, machine-readable reason (for example "url_invalid").
	Code string `json:"code"`
	// Message is a human-readable sentence.
	Message string `json:"message"`
}

// FieldProblem is a broken rule before it is tied to the field it is
// about (a rule may serve several fields, such as each entry of events).
// The domain packages' rules return it; the api package ties it to the
// field it decoded.
type FieldProblem struct {
	// Code is the stable reason, one of the Code* constants.
	Code string
	// Message is a sentence for the caller.
	Message string
}

// At ties p to the field param.
func (p *FieldProblem) At(param string) FieldError {
	return FieldError{Param: param, Code: p.Code, Message: p.Message}
}

// Validation returns an Invalid error that reports every field problem. The
// first problem gives the top-level code, message and param.
func Validation(problems []FieldError) *Error {
	if len(problems) == 0 {
		return nil
	}
	first := problems[0]
	return &Error{
		Kind:    Invalid,
		Code:    first.Code,
		Message: first.Message,
		Param:   first.Param,
		Details: problems,
	}
}
