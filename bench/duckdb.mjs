// Runs a SQL file with DuckDB through @duckdb/node-api, for machines
// without the duckdb CLI: node duckdb.mjs FILE.sql.  run.sh copies it
// next to the node_modules it installs in bench/out.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

if (process.argv.length !== 3) {
	console.error('usage: node duckdb.mjs FILE.sql');
	process.exit(64);
}
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
await conn.run(readFileSync(process.argv[2], 'utf8'));
conn.closeSync();
db.closeSync();
