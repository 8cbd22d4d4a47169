import * as DateTime from "effect/DateTime"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { digits, isRealDateTime } from "./calendar.js"

const isDigit = (s: string, i: number): boolean => {
  const c = s.charCodeAt(i)
  return c >= 48 && c <= 57
}

/**
 * Epoch milliseconds of an RFC 3339 date-time (`format: date-time` of the
 * spec), or `undefined` when it is not one or names no real instant
 * (30 February, hour 24). Read by char codes: it is on every status decode.
 */
export const parseMillis = (s: string): number | undefined => {
  if (s.length < 20) return undefined
  const year = digits(s, 0, 4)
  const month = digits(s, 5, 2)
  const day = digits(s, 8, 2)
  const hour = digits(s, 11, 2)
  const minute = digits(s, 14, 2)
  const second = digits(s, 17, 2)
  if (
    s[4] !== "-" || s[7] !== "-" || s[13] !== ":" || s[16] !== ":" || (s[10] !== "T" && s[10] !== "t") ||
    !isRealDateTime(year, month, day, hour, minute, second)
  ) return undefined
  let i = 19
  let millis = 0
  if (s[i] === ".") {
    i++
    const start = i
    while (i < s.length && isDigit(s, i)) {
      if (i - start < 3) millis = millis * 10 + s.charCodeAt(i) - 48
      i++
    }
    if (i === start) return undefined
    for (let k = i - start; k < 3; k++) millis *= 10
  }
  let offset = 0
  const zone = s[i]
  if (zone === "Z" || zone === "z") {
    if (i + 1 !== s.length) return undefined
  } else if (zone === "+" || zone === "-") {
    const oh = digits(s, i + 1, 2)
    const om = digits(s, i + 4, 2)
    if (i + 6 !== s.length || s[i + 3] !== ":" || oh < 0 || oh > 23 || om < 0 || om > 59) return undefined
    offset = (zone === "+" ? 1 : -1) * (oh * 60 + om) * 60_000
  } else {
    return undefined
  }
  let utc = Date.UTC(year, month - 1, day, hour, minute, second, millis)
  if (year < 100) { // Date.UTC reads years 0-99 as 1900-1999
    const date = new Date(utc)
    date.setUTCFullYear(year)
    utc = date.getTime()
  }
  return utc - offset
}

const UtcProto: object = Object.getPrototypeOf(DateTime.unsafeMake(0))
const partsUtc: PropertyDescriptor = { value: undefined, enumerable: false, writable: true }

/**
 * The `DateTime.Utc` of epoch millis known to be valid, as
 * `DateTime.unsafeMake` builds it (the same prototype and own properties,
 * its cache slot included) without the `Date` it makes to check its input:
 * two of these are built on every status.
 */
export const utc = (millis: number): DateTime.Utc => {
  const self = Object.create(UtcProto)
  self.epochMillis = millis
  Object.defineProperty(self, "partsUtc", partsUtc)
  return self
}

/** The wire form: `2025-11-10T15:16:45Z`, with milliseconds only when there are some. */
export const format = (millis: number): string => {
  const iso = new Date(millis).toISOString()
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso
}

/**
 * A `format: date-time` string of the spec as a `DateTime.Utc`. Hand-rolled
 * rather than `Schema.DateTimeUtc` because that one costs most of a status
 * decode (see BENCHMARKS.md); it accepts RFC 3339 and checks the calendar.
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
        : ParseResult.succeed(utc(millis))
    },
    encode: (dt) => ParseResult.succeed(format(dt.epochMillis))
  }
).annotations({ identifier: "Timestamp" })
