package dynamo

import "time"

// SetMaxExamined lowers the number of delivery items one Deliveries call
// of s looks at, so that tests reach the bound with a few items.
func (s *Store) SetMaxExamined(n int) { s.maxExamined = n }

// SetClock makes now the clock of s, which tells expired items apart and
// bounds the days Events looks at.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Table is the name of s's table, for a second Store over it.
func (s *Store) Table() string { return s.table }

// TransactionTries is how often a transaction that concurrent ones keep
// cancelling is tried.
const TransactionTries = transactionTries
