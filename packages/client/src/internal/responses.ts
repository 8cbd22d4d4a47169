import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as JobStatus from "../JobStatus.js"
import { ErrorResponse } from "../Payloads.js"
import * as QoeryError from "../QoeryError.js"
import * as Redact from "./redact.js"

/** Turns a failure of the HTTP layer into the client's error: the key stays out, only the low-level cause is kept. */
export const fromHttpClientError = (error: HttpClientError.HttpClientError): QoeryError.QoeryError => {
  if (error._tag === "RequestError") {
    return error.reason === "InvalidUrl"
      ? new QoeryError.InvalidInput({ field: "url", description: error.description ?? "invalid request URL" })
      : new QoeryError.TransportError({
        reason: "Transport",
        description: `${error.request.method} ${new URL(error.request.url).pathname}: ${describe(error.cause)}`,
        cause: error.cause
      })
  }
  return new QoeryError.TransportError({
    reason: "Transport",
    description: `${error.request.method} ${new URL(error.request.url).pathname}: the response broke off (${
      describe(error.cause)
    })`,
    cause: error.cause
  })
}

const describe = (cause: unknown): string => {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause
    return inner instanceof Error ? `${cause.message}: ${inner.message}` : cause.message
  }
  return String(cause)
}

const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

const snippet = (text: string) => JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}...` : text)

/** The most bytes read of a JSON body unless the client is told otherwise: a status is a few KB. */
export const defaultMaxResponseBytes = 1024 * 1024

const tooBig = (response: HttpClientResponse.HttpClientResponse, maxBytes: number, size?: number) =>
  new QoeryError.ResponseError({
    status: response.status,
    description: `the body is too big: ${
      size === undefined ? "more than" : `${size} bytes, over`
    } the ${maxBytes} bytes a JSON response may have (maxResponseBytes)`
  })

const isIdentity = (response: HttpClientResponse.HttpClientResponse) => {
  const encoding = response.headers["content-encoding"]
  return encoding === undefined || encoding === "" || encoding.trim().toLowerCase() === "identity"
}

/**
 * The text of a body, at most `maxBytes` of it. An announced length is
 * checked first (the HTTP stack holds the body to it); a body without one, or
 * decoded from gzip, is counted as it streams and abandoned past the limit.
 */
export const readText = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number
): Effect.Effect<string, QoeryError.QoeryError> => {
  const length = isIdentity(response) ? Number(response.headers["content-length"] ?? Number.NaN) : Number.NaN
  if (Number.isFinite(length)) {
    return length > maxBytes
      ? Effect.fail(tooBig(response, maxBytes, length))
      : Effect.mapError(response.text, fromHttpClientError)
  }
  return Effect.suspend(() => {
    const decoder = new TextDecoder()
    let text = ""
    let size = 0
    return response.stream.pipe(
      Stream.mapError(fromHttpClientError),
      Stream.runForEach((chunk) => {
        size += chunk.length
        if (size > maxBytes) return Effect.fail(tooBig(response, maxBytes))
        text += decoder.decode(chunk, { stream: true })
        return Effect.void
      }),
      Effect.map(() => text + decoder.decode())
    )
  })
}

/** The most issues of a parse error a message lists; the error itself (the `cause`) has them all. */
const shownIssues = 3

/**
 * A parse error in a line: each issue as its path and message
 * (`progress.urls_total: Expected a non-negative number, actual -1`), the
 * first few, then how many more. Schema's tree of the same error runs to 20
 * lines and more for one field, most of them the schema's structure.
 */
const issues = (error: ParseResult.ParseError): string => {
  const all = ParseResult.ArrayFormatter.formatErrorSync(error)
  const shown = all.slice(0, shownIssues).map((issue) =>
    issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`
  )
  const more = all.length - shown.length
  return shown.join("; ") + (more > 0 ? `; and ${more} more` : "")
}

/**
 * Reads a JSON body and decodes it, or says what was expected and what came.
 * What came is quoted with the key redacted (`redact`): the text, the parser's
 * message on it and the parse error are those of the body without the key.
 */
const decodeBody = (maxBytes: number, redact: Redact.Redact) =>
<A, I>(
  response: HttpClientResponse.HttpClientResponse,
  schema: Schema.Schema<A, I>,
  what: string
): Effect.Effect<A, QoeryError.QoeryError> =>
  decodeBodyWith(maxBytes, redact)(response, Schema.decodeUnknownEither(schema, { errors: "all" }), what)

/** As `decodeBody`, with a decoding function (the fast status decoder). */
const decodeBodyWith = (maxBytes: number, redact: Redact.Redact) =>
<A>(
  response: HttpClientResponse.HttpClientResponse,
  decode: (input: unknown) => Either.Either<A, ParseResult.ParseError>,
  what: string
): Effect.Effect<A, QoeryError.QoeryError> => {
  return Effect.flatMap(
    readText(response, maxBytes),
    (text) => {
      const json = parseJson(text)
      if (Either.isLeft(json)) {
        // The parser's message quotes the text (cut where it likes): take it from the text without the key.
        const shown = redact(text)
        const reason = shown === text ? json.left : Either.getLeft(parseJson(shown)).pipe(
          Option.getOrElse(() => "not valid JSON")
        )
        return Effect.fail(
          new QoeryError.ResponseError({
            status: response.status,
            description: redact(`expected ${what} as JSON, got ${snippet(shown)} (${reason})`)
          })
        )
      }
      const decoded = decode(json.right)
      if (Either.isRight(decoded)) return Effect.succeed(decoded.right)
      // The parse error holds the values it refused: when the key is among them, decode the body without it.
      const error = redact(text) === text ? decoded.left : Either.getLeft(decode(Redact.json(redact)(json.right)))
        .pipe(Option.getOrUndefined)
      return Effect.fail(
        new QoeryError.ResponseError({
          status: response.status,
          description: error === undefined
            ? `expected ${what}: the body does not decode`
            : redact(`expected ${what}: ${issues(error)}`),
          ...(error === undefined ? {} : { cause: error })
        })
      )
    }
  )
}

const header = (response: HttpClientResponse.HttpClientResponse, name: string): string | undefined =>
  response.headers[name]

const numberHeader = (response: HttpClientResponse.HttpClientResponse, name: string): number | undefined => {
  const value = header(response, name)
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}

/** The `X-RateLimit-*` headers, when any is there. */
export const rateLimitInfo = (
  response: HttpClientResponse.HttpClientResponse
): QoeryError.RateLimitInfo | undefined => {
  const limit = numberHeader(response, "x-ratelimit-limit")
  const remaining = numberHeader(response, "x-ratelimit-remaining")
  const reset = header(response, "x-ratelimit-reset")
  if (limit === undefined && remaining === undefined && reset === undefined) return undefined
  return {
    ...(limit === undefined ? {} : { limit }),
    ...(remaining === undefined ? {} : { remaining }),
    ...(reset === undefined ? {} : { reset })
  }
}

/**
 * The longest `Retry-After` taken at its word: a day (86 400 s, allowed). A
 * longer one (`99999999999999999999999`, a date years ahead) is implausible
 * and ignored, as if the header were absent, rather than capped: a 429 then
 * reads as the quota spent (`QuotaExceeded`), a 5xx as a plain `ServerError`,
 * and no absurd wait reaches the user. The retry policy caps what it honours
 * further (`maxRetryAfter`, 60 s by default).
 */
export const maxRetryAfterMillis = 86_400_000

const dayNames = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
const monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
const month = `(${monthNames.join("|")})`
const time = "(\\d{2}):(\\d{2}):(\\d{2})"
// RFC 9110 section 5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms, all case-sensitive.
const imfFixdate = new RegExp(`^(?:${dayNames}), (\\d{2}) ${month} (\\d{4}) ${time} GMT$`)
const rfc850Date = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${month}-(\\d{2}) ${time} GMT$`
)
const asctimeDate = new RegExp(`^(?:${dayNames}) ${month} ( \\d|\\d{2}) ${time} (\\d{4})$`)

/** The instant of a date-time, or `undefined` when a field is out of range (Feb 30, 24:00, ...). */
const utc = (year: number, monthName: string, day: number, hour: number, minute: number, second: number) => {
  const m = monthNames.indexOf(monthName)
  if (hour > 23 || minute > 59 || second > 60) return undefined
  const millis = Date.UTC(year, m, day, hour, minute, Math.min(second, 59))
  const date = new Date(millis)
  return date.getUTCFullYear() === year && date.getUTCMonth() === m && date.getUTCDate() === day ? millis : undefined
}

/** An HTTP-date (RFC 9110 section 5.6.7) as epoch milliseconds, or `undefined` for anything else. */
const parseHttpDate = (text: string, now: number): number | undefined => {
  let match = imfFixdate.exec(text)
  if (match !== null) return utc(Number(match[3]), match[2]!, Number(match[1]), +match[4]!, +match[5]!, +match[6]!)
  match = rfc850Date.exec(text)
  if (match !== null) {
    // A two-digit year more than 50 years ahead is in the past century (RFC 9110 section 5.6.7).
    const thisYear = new Date(now).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + Number(match[3])
    if (year > thisYear + 50) year -= 100
    return utc(year, match[2]!, Number(match[1]), +match[4]!, +match[5]!, +match[6]!)
  }
  match = asctimeDate.exec(text)
  if (match !== null) {
    return utc(Number(match[6]), match[1]!, Number(match[2]!.trim()), +match[3]!, +match[4]!, +match[5]!)
  }
  return undefined
}

/**
 * `Retry-After` relative to `now`, as RFC 9110 allows it: delta-seconds
 * (digits; a decimal fraction is accepted too) or an HTTP-date, a past date
 * being no wait. Anything else (`-5`, `soon`, `Infinity`, `12 13`), or a wait
 * over `maxRetryAfterMillis`, is `undefined`, as if there were no header.
 */
export const parseRetryAfter = (value: string | undefined, now: number): Duration.Duration | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  let wait: number
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    wait = Number(trimmed) * 1000
  } else {
    const date = parseHttpDate(trimmed, now)
    if (date === undefined) return undefined
    wait = Math.max(0, date - now)
  }
  return wait <= maxRetryAfterMillis ? Duration.millis(wait) : undefined
}

/** The error body, with `error` as the least it must have. */
export const ErrorBody = ErrorResponse

/**
 * The `details` of an error whose body was not a JSON error body: what the
 * status means is kept, and none of the server's text (it may echo the key).
 */
export const noErrorBody = "the body was not a JSON error body"

/**
 * The handlers of the responses of one client, each reading at most
 * `maxBytes` of a body (`maxResponseBytes`), with `redact` (the client's own
 * key) applied to the server's text before it goes into an error or a value.
 */
export const handlers = (maxBytes: number = defaultMaxResponseBytes, redact: Redact.Redact = Redact.none) => {
  const decodeErrorBody = decodeBody(maxBytes, redact)
  /** The error body, its `error` and `details` without the key (a server may echo the request's header). */
  const errorBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<
    ErrorResponse,
    QoeryError.QoeryError
  > =>
    Effect.map(
      decodeErrorBody(response, ErrorResponse, "an error body ({ error, status?, details? })"),
      (body) => {
        const error = redact(body.error)
        const details = body.details === undefined ? undefined : redact(body.details)
        return error === body.error && details === body.details
          ? body
          : new ErrorResponse({ ...body, error, ...(details === undefined ? {} : { details }) }, true)
      }
    )

  /**
   * A status, the `error` of a failed one without the key. The job's `query`
   * is the user's own search and is left as it is. A running job costs a
   * comparison, a failed one an `includes`: no step is added to the poll.
   */
  const decodeStatus = (input: unknown): Either.Either<JobStatus.JobStatus, ParseResult.ParseError> => {
    const decoded = JobStatus.decodeUnknown(input)
    if (decoded._tag === "Left" || decoded.right.status !== "error") return decoded
    const failed = decoded.right
    const error = redact(failed.error)
    return error === failed.error ? decoded : Either.right(new JobStatus.Failed({ ...failed, error }, true))
  }

  const lenientErrorBody = (response: HttpClientResponse.HttpClientResponse) =>
    Effect.orElseSucceed(errorBody(response), () => undefined)

  /** An error's `error` and `details` from its body, or the status's reason phrase where there is no JSON body. */
  const errorFields = (body: ErrorResponse | undefined, reasonPhrase: string) =>
    body === undefined
      ? { error: reasonPhrase, details: noErrorBody }
      : { error: body.error, ...(body.details ? { details: body.details } : {}) }

  /**
   * 401: `Unauthorized` whatever the body (a proxy or WAF answers in HTML),
   * with the reason phrase where there is no JSON error body.
   */
  const unauthorized = (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<never, QoeryError.QoeryError> =>
    Effect.flatMap(
      lenientErrorBody(response),
      (body) => Effect.fail(new QoeryError.Unauthorized(errorFields(body, "Unauthorized")))
    )

  /** 400: `BadRequest` whatever the body, as for 401. */
  const badRequest = (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<never, QoeryError.QoeryError> =>
    Effect.flatMap(
      lenientErrorBody(response),
      (body) => Effect.fail(new QoeryError.BadRequest(errorFields(body, "Bad Request")))
    )

  /** 429: `RateLimited` with a `Retry-After`, else `QuotaExceeded`. */
  const tooManyRequests = (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<never, QoeryError.QoeryError> =>
    Effect.flatMap(Effect.all([lenientErrorBody(response), DateTime.now]), ([body, now]): Effect.Effect<
      never,
      QoeryError.QoeryError
    > => {
      const rateLimit = rateLimitInfo(response)
      const retryAfter = parseRetryAfter(header(response, "retry-after"), now.epochMillis)
      if (retryAfter !== undefined) {
        return Effect.fail(
          new QoeryError.RateLimited({
            retryAfter,
            ...(body ? { error: body.error } : {}),
            ...(rateLimit ? { rateLimit } : {})
          })
        )
      }
      return Effect.fail(
        new QoeryError.QuotaExceeded({
          error: body?.error ?? "Too many requests",
          ...(body?.resetDate ? { resetDate: body.resetDate } : {}),
          ...(rateLimit ? { rateLimit } : {})
        })
      )
    })

  /** 5xx: a `ServerError` whatever the body (proxies answer 502 in HTML), with its `Retry-After`. */
  const serverError = (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<never, QoeryError.QoeryError> =>
    Effect.flatMap(Effect.all([lenientErrorBody(response), DateTime.now]), ([body, now]) => {
      const retryAfter = parseRetryAfter(header(response, "retry-after"), now.epochMillis)
      return Effect.fail(
        new QoeryError.ServerError({
          status: response.status,
          ...(body ? { error: body.error } : {}),
          ...(body?.details ? { details: body.details } : {}),
          ...(retryAfter === undefined ? {} : { retryAfter })
        })
      )
    })

  /** Any status the spec does not list for the operation. */
  const unexpected = (
    response: HttpClientResponse.HttpClientResponse,
    listed: string
  ): Effect.Effect<never, QoeryError.QoeryError> =>
    Effect.zipRight(
      Effect.ignore(readText(response, maxBytes)),
      Effect.fail(
        new QoeryError.ResponseError({
          status: response.status,
          description: `status ${response.status} is not one the spec lists for this operation (${listed})${
            response.status >= 300 && response.status < 400 ? "; redirects are not followed" : ""
          }`
        })
      )
    )

  return {
    fromHttpClientError,
    ErrorBody,
    readText: (response: HttpClientResponse.HttpClientResponse) => readText(response, maxBytes),
    decodeBody: decodeBody(maxBytes, redact),
    decodeBodyWith: decodeBodyWith(maxBytes, redact),
    errorBody,
    decodeStatus,
    unauthorized,
    badRequest,
    tooManyRequests,
    serverError,
    unexpected
  }
}
