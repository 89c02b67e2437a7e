import { Column, is, Param, Placeholder, SQL } from 'drizzle-orm';
import type postgres from 'postgres';
import type { DbOrTx } from './client.js';

/**
 * A hot statement built once. Drizzle builds a statement's SQL text from its query builder on every
 * call (a third of the event loop on the write paths, most of it in its `is()` checks); a statement
 * built here is written with the query builder as usual, with `sql.placeholder('name')` for what
 * varies, built on its first call, and from then on only its parameters are filled in and its rows
 * decoded, on whichever connection or transaction it is given. The text is the one Drizzle would
 * send, so it is kept prepared per connection like any other (client.ts).
 *
 * Limits, checked when the statement is built: inner joins only (no outer-join null handling), and a
 * placeholder's value is sent as given (a date as ISO text) unless its column has an encoder (Drizzle's
 * own rule for placeholders); a null stays SQL NULL, never JSON `null`. Update builders take no placeholders in
 * `.set()`: write ``sql`${sql.placeholder('name')}` `` there (sent as given).
 */
type Built = { sql: string; params: unknown[]; fields?: { path: string[]; field: unknown }[]; joinsNotNullableMap?: Record<string, boolean> };
type Preparable<Result> = { prepare(name: string): { execute(values?: Record<string, unknown>): Promise<Result> } };

export type PreparedStatement<Result> = (db: DbOrTx, values: Record<string, unknown>) => Promise<Result>;

export function prepared<Result>(name: string, build: (db: DbOrTx) => Preparable<Result>): PreparedStatement<Result> {
  let statement: { text: string; fill: (values: Record<string, unknown>) => unknown[]; decode: ((row: unknown[]) => unknown) | undefined } | undefined;
  return async (db, values) => {
    statement ??= compile(name, build(db).prepare(name) as unknown as Built & { queryString: string });
    const client = (db as unknown as { session: { client: postgres.Sql } }).session.client;
    const query = client.unsafe(statement.text, statement.fill(values) as postgres.ParameterOrJSON<never>[]);
    if (!statement.decode) return (await query) as unknown as Result;
    return (await query.values()).map(statement.decode) as Result;
  };
}

function compile(name: string, built: Built & { queryString: string }) {
  const fillers = built.params.map((param): ((values: Record<string, unknown>) => unknown) => {
    if (is(param, Placeholder)) return (values) => asSent(valueOf(values, param.name));
    if (is(param, Param) && is(param.value, Placeholder)) {
      const { encoder } = param;
      const placeholder = param.value.name;
      return (values) => {
        const value = valueOf(values, placeholder);
        return value === null || value === undefined ? null : encoder.mapToDriverValue(value);
      };
    }
    return () => param;
  });
  const fill = (values: Record<string, unknown>) => fillers.map((filler) => filler(values));
  if (!built.fields) return { text: built.queryString, fill, decode: undefined };
  if (built.joinsNotNullableMap && Object.values(built.joinsNotNullableMap).some((notNull) => !notNull)) {
    throw new Error(`prepared statement ${name}: outer joins are not supported`);
  }
  const columns = built.fields.map(({ path, field }) => {
    const decoder = (is(field, Column) ? field : is(field, SQL) ? (field as unknown as { decoder: unknown }).decoder : undefined) as { mapFromDriverValue(value: unknown): unknown } | undefined;
    if (!decoder) throw new Error(`prepared statement ${name}: unsupported field at ${path.join('.')}`);
    return { path, decoder };
  });
  const decode = (row: unknown[]) => {
    const result: Record<string, unknown> = {};
    for (let index = 0; index < columns.length; index++) {
      const { path, decoder } = columns[index]!;
      let node = result;
      for (let depth = 0; depth < path.length - 1; depth++) node = (node[path[depth]!] ??= {}) as Record<string, unknown>;
      const raw = row[index];
      node[path[path.length - 1]!] = raw === null ? null : decoder.mapFromDriverValue(raw);
    }
    return result;
  };
  return { text: built.queryString, fill, decode };
}

/** Drizzle turns off postgres.js's own date serializer (it encodes dates itself): a raw date goes as ISO text. */
const asSent = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : value);

function valueOf(values: Record<string, unknown>, name: string): unknown {
  if (!(name in values)) throw new Error(`no value for placeholder "${name}"`);
  return values[name];
}

/** Runs a SQL text with `$n` parameters on `db`'s connection (its transaction, if it is one), as it is: nothing is built. */
export async function executeText(db: DbOrTx, text: string, parameters: unknown[]): Promise<Record<string, unknown>[]> {
  const client = (db as unknown as { session: { client: postgres.Sql } }).session.client;
  return [...(await client.unsafe(text, parameters as postgres.ParameterOrJSON<never>[]))];
}
