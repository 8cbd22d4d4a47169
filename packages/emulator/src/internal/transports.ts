import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Http from "node:http"
import * as Dataset from "../Dataset.js"
import { encode, type Wire } from "./compression.js"
import type { Outcome } from "./responses.js"

// The faults that break the wire itself (drop, truncate, stall), written on the node response.

/** The node response under an Effect one, for the faults that must break the wire. */
export type Raw = Http.ServerResponse

export const rawResponse = (request: HttpServerRequest.HttpServerRequest): Raw | undefined => {
  try {
    const raw = NodeHttpServerRequest.toServerResponse(request) as Raw | undefined
    return raw !== undefined && typeof raw.writeHead === "function" ? raw : undefined
  } catch {
    return undefined
  }
}

/** Where to cut a body short: about the middle, and for a CSV inside a data row. */
const cutPoint = (bytes: Uint8Array, csv: boolean): number => {
  if (bytes.length <= 1) return 0
  let cut = Math.floor(bytes.length / 2)
  if (csv) {
    const headerLength = Buffer.byteLength(Dataset.header)
    if (bytes.length > headerLength + 2) cut = Math.max(cut, headerLength + 1)
    // not right after a line break: mid-row
    while (cut > 1 && (bytes[cut - 1] === 0x0a || bytes[cut - 1] === 0x0d)) cut--
  }
  return Math.min(cut, bytes.length - 1)
}

/** The body as sent, and its headers: the full `Content-Length` announced unless the wire is chunked. */
const outgoing = (outcome: Outcome, wire: Wire) => {
  const { bytes, headers } = encode(outcome, wire)
  headers["content-type"] = outcome.contentType
  if (wire.compress !== "chunked") headers["content-length"] = String(bytes.length)
  return { bytes, headers }
}

/**
 * Sends part of the body with the full Content-Length announced (or, chunked,
 * without the last chunk), then destroys the connection. A compressed body is
 * cut in the middle of its compressed bytes.
 */
export const truncate = (raw: Raw, outcome: Outcome, csv: boolean, wire: Wire) =>
  Effect.async<void>((resume) => {
    const { bytes, headers } = outgoing(outcome, wire)
    raw.writeHead(outcome.status, headers)
    raw.write(bytes.subarray(0, cutPoint(bytes, csv && wire.encoding === undefined)), () => {
      raw.destroy()
      raw.end()
      resume(Effect.void)
    })
  })

export const drop = (raw: Raw) =>
  Effect.sync(() => {
    raw.destroy()
    raw.end()
  })

/** Sends part of the body, waits, then the rest. */
export const stall = (raw: Raw, outcome: Outcome, csv: boolean, millis: number, wire: Wire) =>
  Effect.gen(function*() {
    const { bytes, headers } = outgoing(outcome, wire)
    const cut = cutPoint(bytes, csv && wire.encoding === undefined)
    raw.writeHead(outcome.status, headers)
    raw.flushHeaders()
    raw.write(bytes.subarray(0, cut))
    yield* Effect.sleep(Duration.millis(millis))
    if (raw.destroyed) {
      raw.end()
    } else {
      raw.end(bytes.subarray(cut))
    }
  })
