export type { DatabaseConnectionOptions } from './database-pool.js';
export { HopgenPostgresError, InvalidPostgresOptionError, SchemaVersionError } from './errors.js';
export { type MigrationSet, runMigrations, SCHEMA_VERSION } from './migrations.js';
export { PostgresRunStore, type PostgresRunStoreOptions } from './postgres-run-store.js';
