import * as Payloads from "@effect-qoery/client/Payloads"
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import { maxBodyBytes, maxSearchLength } from "./config.js"

/** An answer before it goes on the wire: its status, body text and headers. */
export interface Outcome {
  readonly status: number
  readonly body: string
  readonly contentType: string
  readonly headers?: Record<string, string>
}

/** Headers of an answer, as the handlers add them (rate limits, `Retry-After`). */
export type Headers = Record<string, string>

export const jsonType = "application/json; charset=utf-8"
export const csvType = "text/csv; charset=utf-8"

export const json = (status: number, body: unknown, headers?: Headers): Outcome =>
  headers === undefined
    ? { status, body: JSON.stringify(body), contentType: jsonType }
    : { status, body: JSON.stringify(body), contentType: jsonType, headers }

const encodeError = Schema.encodeSync(Payloads.ErrorResponse)

/** The spec's `ErrorResponse`, encoded with the client's schema. */
export const errorBody = (status: number, error: string, details?: string, resetDate?: number): unknown =>
  encodeError(
    new Payloads.ErrorResponse({
      error,
      status,
      ...(details === undefined ? {} : { details }),
      ...(resetDate === undefined ? {} : { resetDate: DateTime.unsafeMake(resetDate) })
    }, true)
  )

export const fail = (status: number, error: string, details?: string, headers?: Headers): Outcome =>
  json(status, errorBody(status, error, details), headers)

/** A value from the request, cut to a length that is safe to echo. */
export const preview = (s: string) => s.length > 64 ? `${s.slice(0, 64)}...` : s

// The errors of the spec, with the texts of its examples.

export const jobNotFound = (id: string, headers?: Headers) =>
  fail(404, "Job not found", `No job found with ID: ${preview(id)}`, headers)

export const csvNotReady = (headers?: Headers) =>
  fail(404, "CSV not ready yet", "The job is still processing. Please wait and try again.", headers)

export const missingSearch = (headers?: Headers) => fail(400, "Search parameter is required", undefined, headers)

export const invalidSearch = (headers?: Headers) =>
  fail(
    400,
    "Search parameter must be a non-empty string",
    "The search query must contain at least 1 character",
    headers
  )

export const searchTooLong = (length: number, headers?: Headers) =>
  fail(
    400,
    "Search parameter is too long",
    `The search query must be at most ${maxSearchLength} characters; this one has ${length}`,
    headers
  )

export const tooLarge = (headers?: Headers) =>
  fail(413, "Request body too large", `The largest body accepted is ${maxBodyBytes} bytes`, headers)

export const missingKey = () =>
  fail(401, "API key required. Provide via ?api_key=... or Authorization: Bearer ... header")

export const invalidKey = (details = "The provided API key does not exist or has been revoked") =>
  fail(401, "Invalid API key", details)

export const quotaExceeded = (resetDate: number, headers: Headers) =>
  json(429, errorBody(429, "Monthly quota exceeded", undefined, resetDate), headers)

export const noRoute = (method: string, pathname: string) =>
  fail(404, "Not found", `No route for ${method} ${preview(pathname)}`)

export const methodNotAllowed = (pathname: string, allow: string) =>
  fail(405, "Method not allowed", `${preview(pathname)} allows ${allow}`, { allow })

export const internalError = () => fail(500, "Internal server error")

const faultMessages: Record<number, string> = {
  400: "Bad request",
  401: "Invalid API key",
  404: "Not found",
  429: "Too many requests",
  500: "Internal server error",
  502: "Bad gateway",
  503: "Service unavailable",
  504: "Gateway timeout"
}

/** The `error` text of an injected status. */
export const faultMessage = (status: number) => faultMessages[status] ?? `Injected fault (HTTP ${status})`
