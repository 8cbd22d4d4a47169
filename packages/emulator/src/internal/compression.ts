import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Stream from "effect/Stream"
import * as Zlib from "node:zlib"
import type { Compress } from "./config.js"
import type { Outcome } from "./responses.js"

/** A content coding the emulator can send, in the order it prefers them. */
export type Encoding = "br" | "gzip" | "deflate"
const encodings: ReadonlyArray<Encoding> = ["br", "gzip", "deflate"]

/**
 * The coding to answer an `Accept-Encoding` with: the accepted one with the
 * highest `q`, ties going to the order of `encodings`; `undefined` for
 * identity. `*` stands for any coding not named; `q=0` refuses one.
 */
export const negotiate = (accept: string | undefined): Encoding | undefined => {
  if (accept === undefined || accept === "") return undefined
  const weights = new Map<string, number>()
  for (const part of accept.split(",")) {
    const [name, ...params] = part.split(";")
    const token = name!.trim().toLowerCase()
    if (token === "") continue
    let q = 1
    for (const param of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param)
      if (m !== null) q = Number(m[1])
    }
    weights.set(token, Number.isFinite(q) ? q : 0)
  }
  let best: Encoding | undefined
  let bestWeight = 0
  for (const encoding of encodings) {
    const weight = weights.get(encoding) ?? weights.get("*") ?? 0
    if (weight > bestWeight) {
      best = encoding
      bestWeight = weight
    }
  }
  return best
}

const compressors: Record<Encoding, (bytes: Uint8Array) => Uint8Array> = {
  // Quality 5: the default (11) costs tens of milliseconds on a large CSV, for a few percent.
  br: (bytes) => Zlib.brotliCompressSync(bytes, { params: { [Zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }),
  gzip: (bytes) => Zlib.gzipSync(bytes),
  deflate: (bytes) => Zlib.deflateSync(bytes)
}

/** How one response goes on the wire: its coding (none for identity), and whether it is chunked. */
export interface Wire {
  readonly compress: Compress
  readonly encoding: Encoding | undefined
  /** Called for each body sent compressed. */
  readonly compressed: () => void
}

/** The body bytes as sent and the headers that describe them (Content-Length aside). */
export const encode = (
  outcome: Outcome,
  wire: Wire
): { readonly bytes: Uint8Array; readonly headers: Record<string, string> } => {
  const plain = Buffer.from(outcome.body, "utf8")
  const headers: Record<string, string> = { ...outcome.headers }
  if (wire.compress !== "off") headers["vary"] = "accept-encoding"
  if (wire.encoding === undefined || plain.length === 0) return { bytes: plain, headers }
  headers["content-encoding"] = wire.encoding
  wire.compressed()
  return { bytes: compressors[wire.encoding](plain), headers }
}

export const toResponse = (outcome: Outcome, wire: Wire): HttpServerResponse.HttpServerResponse => {
  if (wire.compress === "off") {
    return HttpServerResponse.text(outcome.body, {
      status: outcome.status,
      contentType: outcome.contentType,
      ...(outcome.headers === undefined ? {} : { headers: outcome.headers })
    })
  }
  const { bytes, headers } = encode(outcome, wire)
  const options = { status: outcome.status, contentType: outcome.contentType, headers }
  return wire.compress === "chunked"
    ? HttpServerResponse.stream(Stream.succeed(bytes), options)
    : HttpServerResponse.uint8Array(bytes, options)
}
