package janitor

import "time"

// SetClock makes j read the time from now.
func SetClock(j *Janitor, now func() time.Time) { j.now = now }
