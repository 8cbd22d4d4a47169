/**
 * Where a durable workflow keeps each finished job's CSV: a service, so the
 * CSV can go to a folder (`layerDirectory`), object storage or a database.
 *
 * @since 0.1.0
 */
import * as DatasetCsv from "@effect-qoery/client/DatasetCsv"
import * as QoeryClient from "@effect-qoery/client/QoeryClient"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/**
 * Where a CSV was stored and what it holds.
 *
 * @since 0.1.0
 * @category models
 */
export class StoredCsv extends Schema.Class<StoredCsv>("StoredCsv")({
  /** A path, a URL, a key: whatever the store names it by. */
  location: Schema.String,
  bytes: Schema.Number,
  rows: Schema.Number
}) {}

/**
 * The store could not keep the CSV (after the download's own retries).
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  location: Schema.String,
  description: Schema.String
}) {
  override get message() {
    return `Could not store the CSV at ${this.location}: ${this.description}`
  }
}

/**
 * The job whose CSV is to be stored.
 *
 * @since 0.1.0
 * @category models
 */
export interface Job {
  readonly search: string
  readonly jobId: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Stores the completed job's CSV, whole or not at all. May run again for
   * the same job after a crash, so it must replace what a previous run left.
   */
  readonly store: (job: Job) => Effect.Effect<StoredCsv, StoreError>
}

/**
 * The CSV store service.
 *
 * @since 0.1.0
 * @category tags
 */
export class CsvStore extends Context.Tag("@effect-qoery/workflow/CsvStore")<CsvStore, Service>() {}

/**
 * The file name of a job's CSV: the search made into a short slug, then the
 * job id, so names stay unique and readable (`climate-change-20251110_151628.csv`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fileName = (job: Job): string => {
  const slug = job.search.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(
    /^-+|-+$/g,
    ""
  )
    .slice(0, 60).replace(/-+$/, "")
  return `${slug === "" ? "dataset" : slug}-${job.jobId}.csv`
}

/**
 * Stores each CSV as a file in `directory` (created when missing), named by
 * `fileName`, through `DatasetCsv.writeFile`: downloaded to a temporary file,
 * parsed and checked, then renamed, so a file is whole or absent. The
 * temporary file a killed process left for the same job is removed first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeDirectory = (
  directory: string
): Effect.Effect<Service, never, QoeryClient.QoeryClient | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<QoeryClient.QoeryClient | FileSystem.FileSystem | Path.Path>()
    const fs = yield* FileSystem.FileSystem
    const paths = yield* Path.Path
    const root = paths.resolve(directory)
    return CsvStore.of({
      store: (job) => {
        const name = fileName(job)
        const location = paths.join(root, name)
        // A process killed while writing leaves its temporary file (`.<name>.<random>.part`); the next store of
        // the same job removes it.
        const leftovers = fs.readDirectory(root).pipe(
          Effect.map((entries) => entries.filter((e) => e.startsWith(`.${name}.`) && e.endsWith(".part"))),
          Effect.flatMap((stale) => Effect.forEach(stale, (e) => Effect.ignore(fs.remove(paths.join(root, e))))),
          Effect.ignore
        )
        return fs.makeDirectory(root, { recursive: true }).pipe(
          Effect.zipRight(leftovers),
          Effect.zipRight(DatasetCsv.writeFile(job.jobId, location)),
          Effect.map((written) => new StoredCsv({ location, bytes: written.bytes, rows: written.rows })),
          Effect.mapError((error) => new StoreError({ location, description: error.message })),
          Effect.provide(context)
        )
      }
    })
  })

/**
 * A `CsvStore` that writes one file per job in `directory`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDirectory = (
  directory: string
): Layer.Layer<CsvStore, never, QoeryClient.QoeryClient | FileSystem.FileSystem | Path.Path> =>
  Layer.effect(CsvStore, makeDirectory(directory))
