/**
 * A job's CSV as data: streaming RFC 4180 parsing, typed rows, partial or
 * final, and a file written whole or not at all, in constant memory.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Failure } from "./internal/csvParser.js"
import * as CsvStream from "./internal/csvStream.js"
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
    return `CSV line ${this.line}${this.column === undefined ? "" : `, column "${this.column}"`}: ${this.description}`
  }
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
}

/**
 * Turns a stream of bytes into a stream of records, one per row, keyed by the
 * names of the header row. RFC 4180: quoted fields, `""` inside quotes, commas
 * and line breaks (CR, LF, CRLF) inside quotes, CRLF or LF row ends, a last
 * row with or without a line end, a UTF-8 BOM, characters split across
 * chunks. Blank lines are skipped; an empty input has no rows. Memory stays
 * that of one chunk and one row, whatever the size of the input.
 *
 * Fails with `CsvError` on a row with more or fewer fields than the header
 * (unless `allowRaggedRows`), an unterminated quote at the end of the input,
 * or text after a closing quote; the rows before it are emitted first.
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
        description: `the row has no "${column}" (its columns are ${Object.keys(record).join(", ") || "none"})`
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

/**
 * How to retry: `times` retries at most, spaced by `schedule`. Both have
 * defaults (a capped, jittered exponential backoff); a `Retry-After` from the
 * server is honoured when it is longer.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  readonly times?: number | undefined
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * Exponential backoff from 250 ms, each delay capped at 5 seconds, jittered.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("250 millis", 2).pipe(
  Schedule.either(Schedule.spaced("5 seconds")),
  Schedule.jittered
)

const retrySchedule = (options: RetryOptions, defaultTimes: number, retryable: (error: unknown) => boolean) =>
  Schedule.intersect(options.schedule ?? defaultRetrySchedule, Schedule.identity<unknown>()).pipe(
    Schedule.modifyDelay(([, error], delay) => {
      const asked = QoeryError.isQoeryError(error) ? QoeryError.retryAfter(error) : undefined
      return asked !== undefined && Duration.greaterThan(asked, delay) ? asked : delay
    }),
    Schedule.intersect(Schedule.recurs(options.times ?? defaultTimes)),
    Schedule.whileInput(retryable)
  )

const isTransient = (error: unknown) => QoeryError.isQoeryError(error) && QoeryError.isTransient(error)

/** A job's CSV must have the spec's columns, whatever its rows. */
const checkHeader = (columns: ReadonlyArray<string>) => {
  const missing = required.find((column) => !columns.includes(column))
  return missing === undefined ? undefined : new CsvError({
    line: 1,
    column: missing,
    description: `the header has no "${missing}" column (it has ${columns.map((c) => JSON.stringify(c)).join(", ")})`
  })
}

const cutMidRow = (jobId: string) => (line: number) =>
  new QoeryError.TransportError({
    reason: "Truncated",
    description: `the CSV of job ${jobId} ends in the middle of the row that starts on line ${line}`
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
   * transient errors until the download starts. `true` uses 40 retries of the
   * default schedule (about three minutes). Default `false`: `CsvNotReady` is
   * an error. A download that fails after rows were emitted is not retried.
   */
  readonly waitForRows?: boolean | RetryOptions | undefined
}

/**
 * The job's CSV as typed rows, streamed: the partial CSV while the job runs,
 * the whole one when it is done. A body that ends in the middle of a row is a
 * `TransportError` (`Truncated`), never a short last row.
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
        CsvStream.parseBytes<CsvError | QoeryError.TransportError>(options, {
          failure: fromFailure,
          cutMidRow: cutMidRow(jobId),
          header: checkHeader
        }),
        decodeRows,
        Stream.mapChunks((chunk) => {
          if (chunk.length > 0) emitted = true
          return chunk
        })
      )
      const wait = options.waitForRows
      if (wait === undefined || wait === false) return download
      return Stream.retry(
        download,
        retrySchedule(
          wait === true ? {} : wait,
          40,
          (error) => !emitted && (isTransient(error) || (error as QoeryError.QoeryError)._tag === "CsvNotReady")
        )
      )
    }))).pipe(Stream.withSpan("DatasetCsv.rows", { attributes: { "qoery.job_id": jobId }, captureStackTrace: false }))

/**
 * How `writeFile` writes a job's CSV.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteFileOptions extends ParseOptions {
  /** Retries of a download that failed in a transient way (cut short, stalled, 5xx). Default 5 retries. */
  readonly retry?: RetryOptions | undefined
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
}

/**
 * Writes the job's CSV to `path`, whole or not at all: the bytes go to a
 * temporary file in the same folder while they are parsed and decoded (so a
 * CSV that does not parse, or whose rows are not `CsvRow`s, is never written),
 * and it is renamed to `path` only once the
 * download is complete. A download cut short (fewer bytes than its
 * `Content-Length`, or ending mid row), stalled, or refused in a transient way
 * is retried; a failure or an interruption leaves no temporary file and no
 * short file at `path`.
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
    const client = yield* QoeryClient.QoeryClient
    const fs = yield* FileSystem.FileSystem
    const paths = yield* Path.Path
    const directory = paths.dirname(path)
    const name = paths.basename(path)

    const write = (temp: string, created: { value: boolean }) =>
      Effect.scoped(Effect.gen(function*() {
        // "wx": never truncate a file that is not ours.
        const file = yield* fs.open(temp, { flag: "wx" })
        created.value = true
        let bytes = 0
        const rows = yield* client.downloadCsv(jobId).pipe(
          Stream.tap((chunk) => {
            bytes += chunk.length
            return file.writeAll(chunk)
          }),
          CsvStream.parseBytes<CsvError | QoeryError.TransportError>(options, {
            failure: fromFailure,
            cutMidRow: cutMidRow(jobId),
            header: checkHeader
          }),
          // Every row must be a CsvRow: a CSV without the spec's columns is not the job's CSV.
          decodeRows,
          Stream.runCount
        )
        yield* file.sync
        return { bytes, rows }
      }))

    const attempt = Effect.flatMap(Random.nextInt, (n) => {
      const temp = paths.join(directory, `.${name}.${(n >>> 0).toString(36)}.part`)
      const created = { value: false }
      return write(temp, created).pipe(
        Effect.tap(() => fs.rename(temp, path)),
        Effect.onExit((exit) => Exit.isSuccess(exit) || !created.value ? Effect.void : Effect.ignore(fs.remove(temp)))
      )
    })

    return yield* Effect.retry(attempt, retrySchedule(options.retry ?? {}, 5, isTransient))
  }).pipe(Effect.withSpan("DatasetCsv.writeFile", { attributes: { "qoery.job_id": jobId }, captureStackTrace: false }))
