export { splitSqlStatements } from './split-sql.js';
export { listMigrationFiles, hashSql, SQL_DIR, TIER_ORDER, type MigrationFile, type Tier } from './migration-files.js';
export { migrateNode, quoteDatabaseName, MIGRATE_LOCK_NAME, type MigrateNodeOptions, type MigrateNodeResult } from './migrator.js';
