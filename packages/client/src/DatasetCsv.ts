/**
 * A job's CSV as data: streaming RFC 4180 parsing, typed rows, partial or
 * final, and a file written whole or not at all, in constant memory.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { cut, type Failure } from "./internal/csvParser.js"
import * as CsvStream from "./internal/csvStream.js"
import * as Retry from "./internal/retry.js"
import type { RetryInfo, RetryOptions } from "./JobWatcher.js"
import * as QoeryClient from "./QoeryClient.js"
import * as QoeryError from "./QoeryError.js"

/**
 * A CSV that cannot be read: an unterminated quote, a row with more or fewer
 * fields than the header, a duplicated column name, a row that is not a
 * `CsvRow`. `line` is the physical line the row starts on (1-based; a line
 * break inside quotes counts), `column` the column concerned, if one is.
 *
 * @since 0.1.0
 * @category errors
 */
export class CsvError extends Schema.TaggedError<CsvError>()("CsvError", {
  line: Schema.Number,
  column: Schema.optional(Schema.String),
  description: Schema.String
}) {
  override get message() {
    const column = this.column === undefined ? "" : `, column ${JSON.stringify(cut(this.column, 30))}`
    return `CSV line ${this.line}${column}: ${cut(this.description, 400)}`
  }
}

/** Column names for a message: the first few, each cut short, and how many there are. */
const columnList = (names: ReadonlyArray<string>): string => {
  const shown = names.slice(0, 8).map((name) => cut(name, 30)).join(", ")
  return names.length > 8 ? `${shown}, ... (${names.length} columns)` : shown
}

const fromFailure = (failure: Failure) =>
  new CsvError({
    line: failure.line,
    description: failure.description,
    ...(failure.column === undefined ? {} : { column: failure.column })
  })

/**
 * How `parse` reads a CSV.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParseOptions {
  /**
   * Accept rows with fewer or more fields than the header. Missing fields are
   * absent from the record; extra ones are keyed by their 1-based position
   * (`"_6"`, `"_7"`). Default `false`: such a row is a `CsvError`.
   */
  readonly allowRaggedRows?: boolean | undefined
  /**
   * The longest field, in characters. A longer one fails with a `CsvError`
   * naming its line, before it is held in memory. Default 16 Mi (16,777,216).
   */
  readonly maxFieldSize?: number | undefined
}

/**
 * Turns a stream of bytes into a stream of records, one per row, keyed by the
 * names of the header row. RFC 4180: quoted fields, `""` inside quotes, commas
 * and line breaks (CR, LF, CRLF) inside quotes, CRLF or LF row ends, a last
 * row with or without a line end, a UTF-8 BOM, characters split across
 * chunks. Blank lines are skipped; an empty input has no rows. Memory stays
 * that of one chunk and one row, whatever the size of the input, and no
 * field is longer than `maxFieldSize` (16 Mi characters by default).
 *
 * Fails with `CsvError` on a row with more or fewer fields than the header
 * (unless `allowRaggedRows`), an unterminated quote at the end of the input,
 * text after a closing quote, or a field over `maxFieldSize`; the rows before
 * it are emitted first. Messages quote the input only cut short.
 *
 * @example
 * ```ts
 * import { DatasetCsv } from "@effect-qoery/client"
 * import { Stream } from "effect"
 *
 * const records = Stream.make(new TextEncoder().encode("a,b\n1,\"x, y\"\n")).pipe(DatasetCsv.parse())
 * // { a: "1", b: "x, y" }
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const parse: {
  (
    options?: ParseOptions
  ): <E, R>(bytes: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Record<string, string>, E | CsvError, R>
  <E, R>(
    bytes: Stream.Stream<Uint8Array, E, R>,
    options?: ParseOptions
  ): Stream.Stream<Record<string, string>, E | CsvError, R>
} = dual(
  (args) => Predicate.hasProperty(args[0], Stream.StreamTypeId),
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options: ParseOptions = {}) =>
    CsvStream.parseBytes(options, { failure: fromFailure })(bytes)
)

/**
 * A row of a job's CSV: the spec's columns `url, title, value, dimension,
 * timestamp`. `value` is a number where the text is one (`42.5`, `-3`,
 * `1e6`) and the text as it is otherwise (`"n/a"`, `"1,234"`, `""`);
 * `timestamp` is absent when the column is missing or empty; any other
 * column is kept in `extra`.
 *
 * @since 0.1.0
 * @category models
 */
export const CsvRow = Schema.Struct({
  url: Schema.String,
  title: Schema.String,
  value: Schema.Union(Schema.Number, Schema.String),
  dimension: Schema.String,
  timestamp: Schema.optional(Schema.String),
  extra: Schema.Record({ key: Schema.String, value: Schema.String })
}).annotations({ identifier: "CsvRow" })

/**
 * @since 0.1.0
 * @category models
 */
export type CsvRow = typeof CsvRow.Type

const required = ["url", "title", "value", "dimension"] as const
const known = new Set<string>([...required, "timestamp"])
const numeric = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/**
 * The value of the `value` column: a number where the text is a finite
 * decimal number, the text otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseValue = (text: string): number | string => {
  const trimmed = text.trim()
  if (!numeric.test(trimmed)) return text
  const n = Number(trimmed)
  return Number.isFinite(n) ? n : text
}

const decodeRecord = (record: Readonly<Record<string, string>>, line: number): CsvRow | CsvError => {
  for (const column of required) {
    if (typeof record[column] !== "string") {
      return new CsvError({
        line,
        column,
        description: `the row has no "${column}" (its columns are ${columnList(Object.keys(record)) || "none"})`
      })
    }
  }
  const extra: Record<string, string> = {}
  for (const key of Object.keys(record)) {
    if (!known.has(key)) extra[key] = record[key]!
  }
  const timestamp = record.timestamp
  const row: {
    url: string
    title: string
    value: number | string
    dimension: string
    timestamp?: string
    extra: Record<string, string>
  } = {
    url: record.url!,
    title: record.title!,
    value: parseValue(record.value!),
    dimension: record.dimension!,
    extra
  }
  if (typeof timestamp === "string" && timestamp !== "") row.timestamp = timestamp
  return row
}

/**
 * A `CsvRow` from a record of `parse`, as a schema transformation (decoding
 * names the missing column; encoding gives back the record).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CsvRowFromRecord: Schema.Schema<CsvRow, Record<string, string>> = Schema.transformOrFail(
  Schema.Record({ key: Schema.String, value: Schema.String }),
  Schema.typeSchema(CsvRow),
  {
    strict: true,
    decode: (record, _, ast) => {
      const row = decodeRecord(record, 0)
      return row instanceof CsvError ?
        ParseResult.fail(new ParseResult.Type(ast, record, row.description)) :
        ParseResult
          .succeed(row)
    },
    encode: (row) => {
      const record: Record<string, string> = {
        url: row.url,
        title: row.title,
        value: String(row.value),
        dimension: row.dimension
      }
      if (row.timestamp !== undefined) record.timestamp = row.timestamp
      return ParseResult.succeed({ ...record, ...row.extra })
    }
  }
)

/**
 * Turns records (from `parse`) into `CsvRow`s. A record without one of the
 * required columns fails with a `CsvError` naming its line and the column.
 * Right after `parse`, lines are the physical lines `parse` counted (quoted
 * line breaks included); after other operators in between, records are
 * counted from line 2, one line each.
 *
 * @since 0.1.0
 * @category combinators
 */
export const decodeRows = <E, R>(
  records: Stream.Stream<Readonly<Record<string, string>>, E, R>
): Stream.Stream<CsvRow, E | CsvError, R> =>
  CsvStream.transduce<Readonly<Record<string, string>>, CsvRow, CsvError>(() => {
    let index = 0
    return {
      step: (input, out) => {
        const lines = CsvStream.chunkLines.get(input)
        let i = 0
        for (const record of input) {
          index++
          const row = decodeRecord(record, lines?.[i] ?? index + 1)
          if (row instanceof CsvError) return row
          out.push(row)
          i++
        }
        return undefined
      },
      end: () => undefined
    }
  })(records)

const isTransient = (error: unknown) => QoeryError.isQoeryError(error) && QoeryError.isTransient(error)

/** A job's CSV must have the spec's columns, whatever its rows. */
const checkHeader = (columns: ReadonlyArray<string>) => {
  const missing = required.find((column) => !columns.includes(column))
  return missing === undefined ? undefined : new CsvError({
    line: 1,
    column: missing,
    description: `the header has no "${missing}" column (it has ${columnList(columns.map((c) => JSON.stringify(c)))})`
  })
}

const cutMidRow = (jobId: string) => (line: number) =>
  new QoeryError.TransportError({
    reason: "Truncated",
    description: `the CSV of job ${jobId} ends in the middle of the row that starts on line ${line}`
  })

/**
 * The spec's CSV always starts with its header line, partial or not: a job with no rows yet answers 404 "CSV
 * not ready yet" (`CsvNotReady`), and the CLI writes the header itself for a job that completed with none. So
 * an empty 200 body (or blank lines alone) is never a CSV of 0 rows.
 */
const noHeader = () =>
  new CsvError({ line: 1, description: "the CSV has no header line (the body is empty or only blank lines)" })

/**
 * How `rows`, `writeFile` and `bytes` read a job's CSV, the one place its checks are written: the spec's
 * columns in the header (`onColumns` hears of them first), a header line at all, a body cut mid row a
 * `TransportError`.
 */
const jobCsvHooks = (
  jobId: string,
  onColumns?: (columns: ReadonlyArray<string>) => void
): CsvStream.ParseHooks<CsvError | QoeryError.TransportError> => ({
  failure: fromFailure,
  cutMidRow: cutMidRow(jobId),
  header: (columns) => {
    onColumns?.(columns)
    return checkHeader(columns)
  },
  noHeader
})

/**
 * How `rows` reads a job's CSV.
 *
 * @since 0.1.0
 * @category models
 */
export interface RowsOptions extends ParseOptions {
  /**
   * Wait for the first rows: retry `CsvNotReady` (a job with no rows yet) and
   * transient errors until the download starts, with the client's one retry
   * policy (`JobWatcher.RetryOptions`: a `Retry-After` is honoured up to
   * `maxRetryAfter`, 60 s by default). `true` uses its download defaults with
   * a budget of 41 tries (about three minutes). Default `false`:
   * `CsvNotReady` is an error. A download that fails after rows were emitted
   * is not retried.
   */
  readonly waitForRows?: boolean | RetryOptions | undefined
  /** Called before each retry, for progress displays (`operation: "csv"`). */
  readonly onRetry?: ((info: RetryInfo) => Effect.Effect<void>) | undefined
}

/**
 * The job's CSV as typed rows, streamed: the partial CSV while the job runs,
 * the whole one when it is done. A body that ends in the middle of a row is a
 * `TransportError` (`Truncated`), never a short last row; a body with no
 * header line (an empty 200) or without the spec's columns is a `CsvError`.
 *
 * @example
 * ```ts
 * import { DatasetCsv } from "@effect-qoery/client"
 * import { Stream } from "effect"
 *
 * const titles = DatasetCsv.rows("20251110_151628", { waitForRows: true }).pipe(
 *   Stream.map((row) => `${row.title}: ${row.value}`)
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const rows = (
  jobId: string,
  options: RowsOptions = {}
): Stream.Stream<CsvRow, QoeryError.QoeryError | CsvError, QoeryClient.QoeryClient> =>
  Stream.unwrap(Effect.map(QoeryClient.QoeryClient, (client) =>
    Stream.suspend(() => {
      let emitted = false
      const download = client.downloadCsv(jobId).pipe(
        CsvStream.parseBytes(options, jobCsvHooks(jobId)),
        decodeRows,
        Stream.mapChunks((chunk) => {
          if (chunk.length > 0) emitted = true
          return chunk
        })
      )
      const wait = options.waitForRows
      if (wait === undefined || wait === false) return download
      return Stream.unwrap(Effect.map(
        Retry.resolve(wait === true ? undefined : wait, Retry.waitForRowsDefaults, "waitForRows"),
        (policy) =>
          Stream.retry(
            download,
            Retry.schedule(
              policy,
              jobId,
              (error: QoeryError.QoeryError | CsvError) =>
                !emitted && (isTransient(error) || error._tag === "CsvNotReady"),
              options.onRetry
            )
          )
      ))
    }))).pipe(Stream.withSpan("DatasetCsv.rows", { attributes: { "qoery.job_id": jobId }, captureStackTrace: false }))

/**
 * How `writeFile` writes a job's CSV.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteFileOptions extends ParseOptions {
  /**
   * How a download that failed in a transient way (cut short, stalled, 5xx,
   * 429 with `Retry-After`) is retried: the client's one retry policy, with a
   * budget of 6 tries, 250 ms doubling to 5 s apart, `Retry-After` honoured
   * up to `maxRetryAfter` (60 s).
   */
  readonly retry?: RetryOptions | undefined
  /** Called before each retry, for progress displays (`operation: "csv"`). */
  readonly onRetry?: ((info: RetryInfo) => Effect.Effect<void>) | undefined
}

/**
 * What `writeFile` wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface Written {
  /** The size of the file. */
  readonly bytes: number
  /** The records of the CSV, the header not counted. */
  readonly rows: number
  /** The column names of its header, as the parser read them. */
  readonly columns: ReadonlyArray<string>
}

/** The process id where there is one (Node, Bun, Deno's `process`), else `undefined`. */
const currentPid = (): number | undefined => {
  const pid = (globalThis as { process?: { pid?: unknown } }).process?.pid
  return typeof pid === "number" ? pid : undefined
}

/** Whether a process runs; `true` where that cannot be told, so that nothing is removed on a guess. */
const isAlive = (pid: number): boolean => {
  const kill = (globalThis as { process?: { kill?: (pid: number, signal: 0) => void } }).process?.kill
  if (typeof kill !== "function") return true
  try {
    kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as { code?: unknown }).code !== "ESRCH"
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * The temporary files of `name` left by a process that is gone (`kill -9`
 * mid write): `.<name>.<pid>.<random>.part` whose pid no longer runs.
 */
const staleParts = (entries: ReadonlyArray<string>, name: string, own: number | undefined) => {
  const pattern = new RegExp(`^\\.${escapeRegExp(name)}\\.(\\d+)\\.[0-9a-z]+\\.part$`)
  return entries.filter((entry) => {
    const match = pattern.exec(entry)
    if (match === null) return false
    const pid = Number(match[1])
    return pid !== own && !isAlive(pid)
  })
}

/**
 * Writes the job's CSV to `path`, whole or not at all: the bytes go to a
 * temporary file in the same folder while they are parsed and decoded (so a
 * CSV that does not parse, has no header line, or whose rows are not `CsvRow`s,
 * is never written), and it is renamed to `path` only once the
 * download is complete. A download cut short (fewer bytes than its
 * `Content-Length`, or ending mid row), stalled, or refused in a transient way
 * is retried; a failure or an interruption leaves no temporary file and no
 * short file at `path`.
 *
 * The temporary file is `.<name>.<pid>.<random>.part`. A process killed
 * mid write (`kill -9`) cannot remove its own, so each write first removes
 * those of the same file whose process is gone.
 *
 * @since 0.1.0
 * @category combinators
 */
export const writeFile = (
  jobId: string,
  path: string,
  options: WriteFileOptions = {}
): Effect.Effect<
  Written,
  QoeryError.QoeryError | CsvError | PlatformError,
  QoeryClient.QoeryClient | FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function*() {
    const policy = yield* Retry.resolve(options.retry, Retry.fileDefaults)
    const client = yield* QoeryClient.QoeryClient
    const fs = yield* FileSystem.FileSystem
    const paths = yield* Path.Path
    const directory = paths.dirname(path)
    const name = paths.basename(path)
    const pid = currentPid()

    // What a killed writer of this file left behind; a folder that cannot be read is not this write's concern.
    yield* fs.readDirectory(directory).pipe(
      Effect.flatMap((entries) =>
        Effect.forEach(staleParts(entries, name, pid), (entry) =>
          Effect.ignore(fs.remove(paths.join(directory, entry))), {
          discard: true
        })
      ),
      Effect.ignore
    )

    const write = (temp: string, created: { value: boolean }) =>
      Effect.scoped(Effect.gen(function*() {
        // "wx": never truncate a file that is not ours. Flagged before the open: an interruption right after the
        // file appears must still remove it (the name, with this pid and a random part, is this write's alone).
        created.value = true
        const file = yield* fs.open(temp, { flag: "wx" })
        let bytes = 0
        let columns: ReadonlyArray<string> = []
        const rows = yield* client.downloadCsv(jobId).pipe(
          Stream.tap((chunk) => {
            bytes += chunk.length
            return file.writeAll(chunk)
          }),
          CsvStream.parseBytes(
            options,
            jobCsvHooks(jobId, (names) => {
              columns = names
            })
          ),
          // Every row must be a CsvRow: a CSV without the spec's columns is not the job's CSV.
          decodeRows,
          Stream.runCount
        )
        yield* file.sync
        return { bytes, rows, columns }
      }))

    const attempt = Effect.flatMap(Random.nextInt, (n) => {
      const temp = paths.join(directory, `.${name}.${pid ?? 0}.${(n >>> 0).toString(36)}.part`)
      const created = { value: false }
      return write(temp, created).pipe(
        Effect.tap(() =>
          fs.rename(temp, path)
        ),
        Effect.onExit((exit) => Exit.isSuccess(exit) || !created.value ? Effect.void : Effect.ignore(fs.remove(temp)))
      )
    })

    return yield* Effect.retry(attempt, Retry.schedule(policy, jobId, isTransient, options.onRetry))
  }).pipe(Effect.withSpan("DatasetCsv.writeFile", { attributes: { "qoery.job_id": jobId }, captureStackTrace: false }))

/** The most bytes `bytes` holds while it waits for the end of the header line: 1 MiB. */
const maxHeaderBytes = 1024 * 1024

/**
 * The job's CSV as the server sent it, byte for byte, for a caller that passes
 * it on (`qoery csv` to stdout): nothing is given out until the header line
 * has been read and has the spec's columns, the check `rows` and `writeFile`
 * make. A body that is not the job's CSV (an HTML error page from a proxy, a
 * compressed body the transport did not decode, an empty 200) fails with a
 * `CsvError` before its first byte. Memory stays bounded: at most the header
 * line (1 MiB, else a `CsvError`) is held, and after it the bytes pass through
 * unparsed, so the rows are not checked (use `rows` or `writeFile` for that).
 *
 * @since 0.1.0
 * @category combinators
 */
export const bytes = (
  jobId: string
): Stream.Stream<Uint8Array, QoeryError.QoeryError | CsvError, QoeryClient.QoeryClient> =>
  Stream.unwrap(Effect.map(QoeryClient.QoeryClient, (client) =>
    client.downloadCsv(jobId).pipe(
      CsvStream.checkHeaderBytes(
        {},
        jobCsvHooks(jobId),
        maxHeaderBytes,
        () => new CsvError({ line: 1, description: "the header line is longer than 1 MiB" })
      )
    ))).pipe(Stream.withSpan("DatasetCsv.bytes", { attributes: { "qoery.job_id": jobId }, captureStackTrace: false }))
