/**
 * Writes a job's CSV to a file whole or not at all (`DatasetCsv.writeFile`:
 * a temporary file beside the target, parsed as it arrives, retried when cut
 * short, renamed over the target only once complete), creating its folder.
 */
import { DatasetCsv } from "@effect-qoery/client"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"

/** The number of fields of the header line (quotes may hide commas). */
export const headerColumns = (text: string): number => {
  if (text.length === 0) return 0
  let columns = 1
  let quoted = false
  for (const c of text) {
    if (c === "\"") quoted = !quoted
    else if (!quoted && c === ",") columns++
    else if (!quoted && (c === "\n" || c === "\r")) break
  }
  return columns
}

const head = (file: string) =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const handle = yield* fs.open(file, { flag: "r" })
    const bytes = yield* handle.readAlloc(FileSystem.Size(64 * 1024))
    return bytes._tag === "Some" ? new TextDecoder().decode(bytes.value).replace(/^\uFEFF/, "") : ""
  }))

export const write = (jobId: string, target: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(target), { recursive: true })
    const written = yield* DatasetCsv.writeFile(jobId, target)
    const columns = headerColumns(yield* head(target).pipe(Effect.orElseSucceed(() => "")))
    return { bytes: written.bytes, rows: written.rows, columns }
  })
