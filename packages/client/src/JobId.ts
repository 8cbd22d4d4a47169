/**
 * The id of a Qoery dataset job: `YYYYMMDD_HHMMSS`, the time the job started.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { daysInMonth, digits, isRealDateTime } from "./internal/calendar.js"

const pattern = /^[0-9]{8}_[0-9]{6}$/

/**
 * Why a string that matches `^[0-9]{8}_[0-9]{6}$` is still not a job id, or
 * `undefined` when it is a real calendar date and time.
 *
 * @internal
 */
export const calendarProblem = (s: string): string | undefined => {
  const year = +s.slice(0, 4)
  const month = +s.slice(4, 6)
  const day = +s.slice(6, 8)
  const hour = +s.slice(9, 11)
  const minute = +s.slice(11, 13)
  const second = +s.slice(13, 15)
  if (month < 1 || month > 12) return `month ${s.slice(4, 6)} does not exist`
  if (day < 1 || day > daysInMonth(year, month)) return `day ${s.slice(6, 8)} does not exist in ${s.slice(0, 6)}`
  if (hour > 23) return `hour ${s.slice(9, 11)} does not exist`
  if (minute > 59) return `minute ${s.slice(11, 13)} does not exist`
  if (second > 59) return `second ${s.slice(13, 15)} does not exist`
  return undefined
}

/**
 * A job id as the API sends it: the pattern `^[0-9]{8}_[0-9]{6}$` of the spec,
 * and a real calendar date and time (no month 13, no 30 February).
 *
 * @since 0.1.0
 * @category models
 */
export const JobId = Schema.String.pipe(
  Schema.filter((s) => {
    if (!pattern.test(s)) {
      return `a job id looks like 20251110_151628 (YYYYMMDD_HHMMSS), got ${preview(s)}`
    }
    const problem = calendarProblem(s)
    return problem === undefined ? true : `${s} is not a real date and time: ${problem}`
  }, { identifier: "JobId", description: "YYYYMMDD_HHMMSS" }),
  Schema.brand("JobId")
)

/**
 * @since 0.1.0
 * @category models
 */
export type JobId = typeof JobId.Type

const preview = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s)

const decodeEither = Schema.decodeUnknownEither(JobId)

/**
 * The reason a decode failed, in one line.
 *
 * @since 0.1.0
 * @category errors
 */
export const describe = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => issue.message).join("; ")

/**
 * Validates a string as a job id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decode = (input: unknown): Either.Either<JobId, ParseResult.ParseError> => decodeEither(input)

/**
 * The same test as `is`, without going through the schema and by char codes:
 * it runs on every request and every status.
 *
 * @internal
 */
export const isFast = (u: unknown): u is JobId => {
  if (typeof u !== "string" || u.length !== 15 || u.charCodeAt(8) !== 95) return false // 95: "_"
  const year = digits(u, 0, 4)
  const month = digits(u, 4, 2)
  const day = digits(u, 6, 2)
  const hour = digits(u, 9, 2)
  const minute = digits(u, 11, 2)
  const second = digits(u, 13, 2)
  return isRealDateTime(year, month, day, hour, minute, second)
}

/**
 * Whether a value is a valid job id.
 *
 * @since 0.1.0
 * @category guards
 */
export const is: (u: unknown) => u is JobId = Schema.is(JobId)

/**
 * Makes a job id from a string, throwing an `Error` that says what is wrong
 * when it is not one.
 *
 * @example
 * ```ts
 * import { JobId } from "@effect-qoery/client"
 * const id = JobId.make("20251110_151628")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: string): JobId => {
  const result = decodeEither(input)
  if (Either.isRight(result)) return result.right
  throw new Error(`Invalid job id: ${describe(result.left)}`)
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/**
 * The job id for a start time (UTC), as the service forms it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromDate = (date: Date): JobId =>
  `${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_${pad(date.getUTCHours())}${
    pad(date.getUTCMinutes())
  }${pad(date.getUTCSeconds())}` as JobId
