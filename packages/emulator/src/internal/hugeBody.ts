import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Stream from "effect/Stream"
import * as Dataset from "../Dataset.js"
import type * as Faults from "../Faults.js"
import { csvType, jsonType } from "./responses.js"

// The `hugeBody` fault: a body of any size, made as it is written.

/**
 * `count` copies of `unit`, in chunks of about 64 KB made as they are
 * written: a body of any size costs one chunk of memory.
 */
const repeated = (unit: Uint8Array, count: number): Stream.Stream<Uint8Array> => {
  const perChunk = Math.max(1, Math.floor(65_536 / Math.max(1, unit.length)))
  const chunk = Buffer.alloc(perChunk * unit.length)
  for (let i = 0; i < perChunk; i++) chunk.set(unit, i * unit.length)
  function* chunks() {
    for (let left = count; left > 0; left -= perChunk) {
      yield left >= perChunk ? chunk : chunk.subarray(0, left * unit.length)
    }
  }
  // One chunk a pull: `fromIterable` would gather thousands of them first.
  return Stream.suspend(() => Stream.fromIteratorSucceed(chunks(), 1))
}

/** A body of about `bytes` bytes: `head`, copies of `unit`, `tail`; its exact length. */
const padded = (head: string, unit: string, tail: string, bytes: number) => {
  const start = Buffer.from(head, "utf8")
  const end = Buffer.from(tail, "utf8")
  const filler = Buffer.from(unit, "utf8")
  const count = Math.max(0, Math.floor((bytes - start.length - end.length) / filler.length))
  return {
    length: start.length + count * filler.length + end.length,
    stream: Stream.make(start).pipe(Stream.concat(repeated(filler, count)), Stream.concat(Stream.make(end)))
  }
}

/**
 * The `hugeBody` answer of a route: on `csv` the header and one quoted field
 * (or ordinary rows) to `fault.bytes`; on `status` the job's status (from
 * `status`) with its `query` grown to fill the body; elsewhere a JSON object
 * with one long string.
 */
export const hugeBody = (
  route: Faults.Route,
  status: () => Record<string, unknown>,
  fault: typeof Faults.HugeBodyFault.Type
): HttpServerResponse.HttpServerResponse => {
  let body: { length: number; stream: Stream.Stream<Uint8Array> }
  let contentType = jsonType
  if (route === "csv") {
    contentType = csvType
    body = fault.shape === "rows"
      ? padded(Dataset.header, `https://example.org/huge,a row,1,huge,${Dataset.lineTerminator}`, "", fault.bytes)
      : padded(`${Dataset.header}https://example.org/huge,"`, "x", `",1,huge,${Dataset.lineTerminator}`, fault.bytes)
  } else if (route === "status") {
    const marker = JSON.stringify("\u0001filler\u0001")
    const text = JSON.stringify({ ...status(), query: JSON.parse(marker) })
    const at = text.indexOf(marker)
    body = padded(text.slice(0, at + 1), "x", text.slice(at + marker.length - 1), fault.bytes)
  } else {
    body = padded("{\"padding\":\"", "x", "\"}", fault.bytes)
  }
  return HttpServerResponse.stream(body.stream, {
    status: 200,
    contentType,
    ...(fault.chunked === true ? {} : { contentLength: body.length })
  })
}
