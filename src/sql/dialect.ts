/**
 * The few places DuckDB and Trino (Athena) SQL differ, as functions from SQL expressions to SQL
 * expressions. Everything else the generator writes is common SQL both accept.
 */
export type DialectName = 'duckdb' | 'trino' | 'athena';

export interface Dialect {
  name: DialectName;
  /** Milliseconds since the epoch of an ISO-8601 text, NULL when it is not one. */
  epochMs(text: string): string;
  /** Case-sensitive (or, with `ignoreCase`, insensitive) regular-expression test. */
  regexLike(text: string, pattern: string, ignoreCase: boolean): string;
  /** Capture group `group` of the first match of `pattern` ('' or NULL when none). */
  regexExtract(text: string, pattern: string, group: number): string;
  /** The text at a JSON path of a JSON text (NULL when absent). */
  jsonText(json: string, path: string): string;
  /** `text` with every match of `pattern` replaced by `replacement`. */
  regexReplaceAll(text: string, pattern: string, replacement: string): string;
  /** The value of `value` on the row where `order` (a list of expressions, compared in turn) is smallest. */
  minBy(value: string, order: readonly string[]): string;
  maxBy(value: string, order: readonly string[]): string;
  /** An ordered array aggregate, optionally filtered, rendered as JSON text (an array). */
  jsonArrayAgg(value: string, orderBy: string, filter?: string): string;
  /** A map-like JSON object text built from per-group key/value pairs. */
  jsonObjectAgg(key: string, value: string): string;
  /** Largest value a BIGINT holds: stands in for "no time" (events without a time sort last). */
  readonly noTime: string;
  /** A SQL string literal. */
  stringLiteral(text: string): string;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function row(order: readonly string[], dialect: 'duckdb' | 'trino'): string {
  if (order.length === 1) return order[0]!;
  return dialect === 'duckdb'
    ? `struct_pack(${order.map((o, i) => `k${i} := ${o}`).join(', ')})`
    : `ROW(${order.join(', ')})`;
}

export const duckdb: Dialect = {
  name: 'duckdb',
  epochMs: (text) => `epoch_ms(TRY_CAST(${text} AS TIMESTAMPTZ))`,
  regexLike: (text, pattern, ignoreCase) => `regexp_matches(${text}, ${quote(pattern)}${ignoreCase ? ", 'i'" : ''})`,
  regexExtract: (text, pattern, group) => `regexp_extract(${text}, ${quote(pattern)}, ${group})`,
  jsonText: (json, path) => `json_extract_string(${json}, ${quote(path)})`,
  regexReplaceAll: (text, pattern, replacement) =>
    `regexp_replace(${text}, ${quote(pattern)}, ${quote(replacement)}, 'g')`,
  minBy: (value, order) => `arg_min(${value}, ${row(order, 'duckdb')})`,
  maxBy: (value, order) => `arg_max(${value}, ${row(order, 'duckdb')})`,
  jsonArrayAgg: (value, orderBy, filter) =>
    `CAST(to_json(coalesce(list(${value} ORDER BY ${orderBy})${filter ? ` FILTER (WHERE ${filter})` : ''}, [])) AS VARCHAR)`,
  jsonObjectAgg: (key, value) =>
    `CAST(to_json(map_from_entries(list(struct_pack(k := ${key}, v := ${value})))) AS VARCHAR)`,
  noTime: '9223372036854775807',
  stringLiteral: quote,
};

export const trino: Dialect = {
  name: 'trino',
  epochMs: (text) => `CAST(floor(to_unixtime(try(from_iso8601_timestamp(${text}))) * 1000) AS BIGINT)`,
  regexLike: (text, pattern, ignoreCase) => `regexp_like(${text}, ${quote((ignoreCase ? '(?i)' : '') + pattern)})`,
  regexExtract: (text, pattern, group) => `regexp_extract(${text}, ${quote(pattern)}, ${group})`,
  jsonText: (json, path) => `json_extract_scalar(${json}, ${quote(path)})`,
  regexReplaceAll: (text, pattern, replacement) => `regexp_replace(${text}, ${quote(pattern)}, ${quote(replacement)})`,
  minBy: (value, order) => `min_by(${value}, ${row(order, 'trino')})`,
  maxBy: (value, order) => `max_by(${value}, ${row(order, 'trino')})`,
  jsonArrayAgg: (value, orderBy, filter) =>
    `json_format(CAST(coalesce(array_agg(${value} ORDER BY ${orderBy})${filter ? ` FILTER (WHERE ${filter})` : ''}, ARRAY[]) AS JSON))`,
  jsonObjectAgg: (key, value) => `json_format(CAST(map_agg(${key}, ${value}) AS JSON))`,
  noTime: '9223372036854775807',
  stringLiteral: quote,
};

export const athena: Dialect = { ...trino, name: 'athena' };

export function dialectFor(name: DialectName): Dialect {
  return name === 'duckdb' ? duckdb : name === 'trino' ? trino : athena;
}

/** JS regular expression → the pattern text RE2 (DuckDB) and Java (Trino) read the same way. */
export function sqlPattern(re: RegExp): { pattern: string; ignoreCase: boolean } {
  return { pattern: re.source.replaceAll('\\/', '/'), ignoreCase: re.flags.includes('i') };
}

export { quote as sqlString };
