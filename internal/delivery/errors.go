package delivery

import "errors"

// ErrConflict is a delivery that moved on before a Save: another queue
// message owns it, or another attempt was recorded first.
var ErrConflict = errors.New("delivery changed meanwhile")
