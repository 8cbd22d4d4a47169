/**
 * The synthetic data of the emulator: the urls a job finds and the rows it
 * collects, a deterministic function of the search query (the same query
 * always gives the same urls, rows and CSV bytes).
 *
 * @since 0.1.0
 */

/**
 * One data row of a job's CSV, the spec's columns in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface Row {
  readonly url: string
  readonly title: string
  readonly value: string
  readonly dimension: string
  /** RFC 3339, or `""` where no time applies (the spec: "timestamp (if applicable)"). */
  readonly timestamp: string
}

/**
 * The CSV header line's columns.
 *
 * @since 0.1.0
 * @category constants
 */
export const columns: ReadonlyArray<keyof Row> = ["url", "title", "value", "dimension", "timestamp"]

/**
 * The line terminator of every CSV record (RFC 4180). Line breaks inside a
 * quoted title are a bare `\n`.
 *
 * @since 0.1.0
 * @category constants
 */
export const lineTerminator = "\r\n"

/**
 * Whether a job for this query ends in `error` (during `scraping`): the query
 * contains the word `fail`, in any case (`/\bfail\b/i`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const willFail = (query: string): boolean => /\bfail\b/i.test(query)

/**
 * What a status says of a query's plan: its urls and how many rows each
 * gives. A job keeps its own, so that a status needs no plan.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outline {
  /** The urls the job finds, in the order it finds them (5 to 20). */
  readonly urls: ReadonlyArray<string>
  /** `cumulativeRows[i]`: rows of urls `0..i`; rows of url `i` come after those of url `i - 1`. */
  readonly cumulativeRows: ReadonlyArray<number>
}

/**
 * The urls and rows of a query, with the number of rows each url gives.
 *
 * @since 0.1.0
 * @category models
 */
export interface Plan extends Outline {
  readonly query: string
  /** Every row of a completed job, in CSV order. */
  readonly rows: ReadonlyArray<Row>
}

/** FNV-1a, 32 bits, over the UTF-16 code units. */
const hash = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
const prng = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A seeded pseudo-random generator of floats in `[0, 1)` (mulberry32); the
 * emulator uses it for rate faults so that runs repeat.
 *
 * @since 0.1.0
 * @category constructors
 */
export const random = (seed: number): () => number => prng(seed)

const hosts = ["data.example.org", "stats.example.com", "open.example.net", "archive.example.edu"]
const sections = ["tables", "indicators", "series", "reports", "datasets"]
const dimensions = ["Total", "Urban", "Rural", "Women", "Men", "Europe", "Asia", "Africa", "Americas"]

const slug = (query: string): string => {
  const s = query.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 40)
  return s === "" ? "query" : s
}

const titleCase = (query: string): string => {
  const trimmed = query.trim().replace(/\s+/g, " ").slice(0, 60)
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1)
}

/** Titles that exercise CSV quoting; `%s` is the query. */
const titleTemplates: ReadonlyArray<(q: string, n: number) => string> = [
  (q) => q,
  (q, n) => `${q}, table ${n}`,
  (q) => `${q} – "headline" figures`,
  (q) => `${q}\nrevised estimates`,
  () => "Émissions de CO₂ – Zürich",
  (q, n) => `${q} (${n}), per 1,000 inhabitants`,
  () => "Indicateurs clés: «énergie» et ‘climat’",
  (q) => `${q}; "adjusted", seasonally`
]

const pad = (n: number) => String(n).padStart(2, "0")

const cache = new Map<string, Plan>()
const cacheLimit = 2_000

/**
 * The urls and rows of a query. Cached: the emulator asks for it on each
 * status and CSV request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const plan = (query: string): Plan => {
  const cached = cache.get(query)
  if (cached !== undefined) return cached
  const next = prng(hash(query))
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const base = slug(query)
  const title = titleCase(query)
  const urlCount = int(5, 20)
  const urls: Array<string> = []
  const cumulativeRows: Array<number> = []
  const rows: Array<Row> = []
  for (let i = 0; i < urlCount; i++) {
    const host = hosts[int(0, hosts.length - 1)]!
    const section = sections[int(0, sections.length - 1)]!
    const url = `https://${host}/${section}/${base}-${i + 1}?format=csv&page=${int(1, 9)}`
    urls.push(url)
    const count = int(1, 24)
    const startYear = int(1990, 2015)
    const template = titleTemplates[(i + int(0, 3)) % titleTemplates.length]!
    const rowTitle = template(title, i + 1)
    const dated = next() > 0.15
    for (let r = 0; r < count; r++) {
      const year = startYear + r
      const month = int(1, 12)
      const value = (next() * 2000 - 200).toFixed(int(0, 3))
      rows.push({
        url,
        title: rowTitle,
        value,
        dimension: r % 3 === 2 ? dimensions[int(0, dimensions.length - 1)]! : String(year),
        timestamp: dated ? `${year}-${pad(month)}-01T00:00:00Z` : ""
      })
    }
    cumulativeRows.push(rows.length)
  }
  const result: Plan = { query, urls, cumulativeRows, rows }
  if (cache.size >= cacheLimit) cache.clear()
  cache.set(query, result)
  return result
}

/**
 * The outline of a query's plan, holding none of its rows: what a job keeps
 * (a status is computed from it on every poll, and the plans of thousands of
 * jobs do not fit the plan cache).
 *
 * @since 0.1.0
 * @category constructors
 */
export const outline = (query: string): Outline => {
  const { cumulativeRows, urls } = plan(query)
  return { urls, cumulativeRows }
}

/**
 * The urls a job for this query finds, in order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const urls = (query: string): ReadonlyArray<string> => plan(query).urls

/**
 * Every row of a completed job for this query, in CSV order. A job's CSV
 * holds the first `rows_collected` of them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const rows = (query: string): ReadonlyArray<Row> => plan(query).rows

const needsQuotes = /[",\r\n]/

/**
 * One CSV field, quoted when it holds a comma, a double quote or a line break
 * (RFC 4180: quotes doubled inside).
 *
 * @since 0.1.0
 * @category encoding
 */
export const field = (value: string): string => needsQuotes.test(value) ? `"${value.replace(/"/g, "\"\"")}"` : value

/**
 * One CSV record of a row, with its line terminator.
 *
 * @since 0.1.0
 * @category encoding
 */
export const record = (row: Row): string =>
  `${field(row.url)},${field(row.title)},${field(row.value)},${field(row.dimension)},${
    field(row.timestamp)
  }${lineTerminator}`

/**
 * The header record, with its line terminator.
 *
 * @since 0.1.0
 * @category constants
 */
export const header = `${columns.join(",")}${lineTerminator}`

/**
 * The CSV text of a job for this query once it has collected `rowCount` rows:
 * the header and the first `rowCount` rows, every record ending in CRLF.
 *
 * @example
 * ```ts
 * import { Dataset } from "@effect-qoery/emulator"
 * const text = Dataset.csv("climate change statistics", Dataset.rows("climate change statistics").length)
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const csv = (query: string, rowCount: number): string => {
  const all = rows(query)
  const n = Math.max(0, Math.min(rowCount, all.length))
  let out = header
  for (let i = 0; i < n; i++) out += record(all[i]!)
  return out
}
