package webhook

// UpdateTries is updateTries, for the tests of the give-up path.
const UpdateTries = updateTries
