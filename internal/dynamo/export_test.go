package dynamo

// SetMaxExamined lowers the number of delivery items one Deliveries call
// of s looks at, so that tests reach the bound with a few items.
func (s *Store) SetMaxExamined(n int) { s.maxExamined = n }
