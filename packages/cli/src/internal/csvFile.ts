/**
 * Writes a job's CSV to a file whole or not at all: into a temporary file
 * beside the target, renamed over it only once the download is complete.
 */
import { QoeryClient } from "@effect-qoery/client"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** Counts records and header fields of a CSV as it streams by (quotes may hide commas and line breaks). */
const counter = () => {
  let quoted = false
  let lines = 0
  let columns = 1
  let last = -1
  return {
    feed(chunk: Uint8Array) {
      for (const byte of chunk) {
        if (byte === 0x22) quoted = !quoted
        else if (!quoted && byte === 0x2c && lines === 0) columns++
        else if (!quoted && byte === 0x0a) lines++
        last = byte
      }
    },
    /** Records after the header. */
    rows: () => Math.max(0, lines + (last !== -1 && last !== 0x0a ? 1 : 0) - 1),
    columns: () => last === -1 ? 0 : columns
  }
}

export const write = (jobId: string, target: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const client = yield* QoeryClient.QoeryClient
    yield* fs.makeDirectory(path.dirname(target), { recursive: true })
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`)
    const count = counter()
    let bytes = 0
    yield* client.downloadCsv(jobId).pipe(
      Stream.tap((chunk) =>
        Effect.sync(() => {
          bytes += chunk.length
          count.feed(chunk)
        })
      ),
      Stream.run(fs.sink(temp)),
      Effect.zipRight(fs.rename(temp, target)),
      Effect.onError(() => fs.remove(temp).pipe(Effect.ignore))
    )
    return { bytes, rows: count.rows(), columns: count.columns() }
  })
