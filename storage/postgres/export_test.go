package postgres

// SelectSessionByID is the statement of Store.LoginSessionByID, for the
// test that checks its query plan.
const SelectSessionByID = selectSessionByID
