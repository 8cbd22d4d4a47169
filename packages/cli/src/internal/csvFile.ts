/**
 * Writes a job's CSV to a file whole or not at all (`DatasetCsv.writeFile`:
 * a temporary file beside the target, parsed as it arrives, retried when cut
 * short, renamed over the target only once complete), creating its folder.
 */
import type { JobWatcher } from "@effect-qoery/client"
import { DatasetCsv } from "@effect-qoery/client"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"

/** What was written. */
export interface Saved {
  readonly bytes: number
  readonly rows: number
  readonly columns: number
}

/** Writes the job's CSV to `target`, whole; `onRetry` is told before each retry of the download. */
export const write = (
  jobId: string,
  target: string,
  onRetry?: (info: JobWatcher.RetryInfo) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(target), { recursive: true })
    const written = yield* DatasetCsv.writeFile(jobId, target, onRetry === undefined ? {} : { onRetry })
    return { bytes: written.bytes, rows: written.rows, columns: written.columns.length } satisfies Saved
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
