/**
 * Writes a job's CSV to a file whole or not at all (`DatasetCsv.writeFile`:
 * a temporary file beside the target, parsed as it arrives, retried when cut
 * short, renamed over the target only once complete), creating its folder.
 */
import { DatasetCsv } from "@effect-qoery/client"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"

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
    return Option.match(bytes, {
      onNone: () => "",
      onSome: (bytes) => new TextDecoder().decode(bytes).replace(/^\uFEFF/, "")
    })
  }))

/** What was written. */
export interface Saved {
  readonly bytes: number
  readonly rows: number
  readonly columns: number
}

/** Writes the job's CSV to `target`, whole. */
export const write = (jobId: string, target: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(target), { recursive: true })
    const written = yield* DatasetCsv.writeFile(jobId, target)
    const columns = headerColumns(yield* head(target).pipe(Effect.orElseSucceed(() => "")))
    return { bytes: written.bytes, rows: written.rows, columns } satisfies Saved
  })

/** The spec's columns, in its order (`extra` holds the columns beyond them). */
const columns = Object.keys(DatasetCsv.CsvRow.fields).filter((name) => name !== "extra")

/** The CSV of a job that completed with no rows: the header alone, written whole (temp file, then rename). */
export const writeHeaderOnly = (target: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(target), { recursive: true })
    const text = columns.join(",") + "\r\n"
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.${(yield* Random.nextInt) >>> 0}.part`)
    yield* fs.writeFileString(temp, text, { flag: "wx" }).pipe(
      Effect.zipRight(fs.rename(temp, target)),
      Effect.tapError(() => Effect.ignore(fs.remove(temp)))
    )
    return { bytes: new TextEncoder().encode(text).length, rows: 0, columns: columns.length } satisfies Saved
  })
