import * as DateTime from "effect/DateTime"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

// RFC 3339 `date-time`, the `format: date-time` of the spec.
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** Epoch milliseconds of an RFC 3339 date-time, or `undefined` when it is not one. */
export const parseMillis = (s: string): number | undefined => {
  const m = rfc3339.exec(s)
  if (m === null) return undefined
  const month = +m[2]!
  const day = +m[3]!
  if (month < 1 || month > 12 || day < 1 || day > daysIn(+m[1]!, month)) return undefined
  if (+m[4]! > 23 || +m[5]! > 59 || +m[6]! > 60) return undefined
  const ms = Date.parse(s)
  return Number.isNaN(ms) ? undefined : ms
}

/** The wire form: `2025-11-10T15:16:45Z`, with milliseconds only when there are some. */
export const format = (millis: number): string => {
  const iso = new Date(millis).toISOString()
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso
}

/**
 * A `format: date-time` string of the spec as a `DateTime.Utc`. Hand-rolled
 * rather than `Schema.DateTimeUtc` because that one costs most of a status
 * decode (see BENCHMARKS.md); it accepts the same RFC 3339 strings.
 */
export const Timestamp: Schema.Schema<DateTime.Utc, string> = Schema.transformOrFail(
  Schema.String,
  Schema.DateTimeUtcFromSelf,
  {
    strict: true,
    decode: (s, _, ast) => {
      const millis = parseMillis(s)
      return millis === undefined
        ? ParseResult.fail(new ParseResult.Type(ast, s, `Expected an RFC 3339 date-time, got ${JSON.stringify(s)}`))
        : ParseResult.succeed(DateTime.unsafeMake(millis))
    },
    encode: (dt) => ParseResult.succeed(format(dt.epochMillis))
  }
).annotations({ identifier: "Timestamp" })
