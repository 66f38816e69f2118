import { HopgenError } from '@hopgen/agents';

/** Root of every error that `@hopgen/postgres` throws on purpose; a {@link HopgenError}, so one catch covers hopgen. */
export class HopgenPostgresError extends HopgenError {}

/** Options given to the PostgreSQL store are wrong; the message names the option and the fix. */
export class InvalidPostgresOptionError extends HopgenPostgresError {}

/** The database's schema is newer than this version of `@hopgen/postgres` knows; the message says what to upgrade. */
export class SchemaVersionError extends HopgenPostgresError {}
