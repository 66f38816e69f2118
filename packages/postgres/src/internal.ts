// Building blocks @hopgen/worker shares with this package. Not a public API: names here may change in
// any release.
export { checkSchemaName, inTransaction, openDatabasePool } from './database-pool.js';
