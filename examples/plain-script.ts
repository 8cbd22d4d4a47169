/**
 * A job from a plain TypeScript script, with no Effect in sight: `collect`
 * (start, wait, rows in one call), then the same step by step with Promises,
 * `for await` and an `AbortSignal`.
 *
 *   npx tsx --conditions=source examples/plain-script.ts "air quality index"
 *
 * Uses the real service when QOERY_API_KEY is set; else it starts a local
 * emulator first (the only lines here that know about Effect).
 */
import { createClient, QoeryApiError } from "@effect-qoery/client/promise"
import { Emulator } from "@effect-qoery/emulator"
import { ManagedRuntime } from "effect"

const search = process.argv[2] ?? "air quality index"

const emulator = process.env.QOERY_API_KEY
  ? undefined
  : ManagedRuntime.make(Emulator.layer({ jobDuration: "3 seconds" }))
const baseUrl = emulator ? (await emulator.runPromise(Emulator.Emulator)).baseUrl : process.env.QOERY_BASE_URL
const qoery = createClient({ apiKey: process.env.QOERY_API_KEY ?? Emulator.demoApiKey, baseUrl })

// Ctrl-C (or 10 minutes) stops the polling at once.
const controller = new AbortController()
process.once("SIGINT", () => controller.abort())
const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(10 * 60_000)])

try {
  // Start, wait and rows in one call; onStatus hears of each change.
  const { rows, status } = await qoery.collect(search, {
    signal,
    onStatus: ({ progress: { currentStep, rowsCollected, urlsProcessed, urlsTotal }, status }) =>
      console.log(`${status} ${currentStep}: ${urlsProcessed}/${urlsTotal} urls, ${rowsCollected} rows`)
  })
  for (const row of rows.slice(0, 3)) console.log(`  ${row.title}: ${row.value} (${row.dimension})`)
  console.log(`${rows.length} rows, job ${status.jobId} completed at ${status.completedAt?.toISOString()}`)

  // The same, step by step: start, watch with for await, then the rows as they stream.
  const { jobId } = await qoery.startJob(search, { signal })
  for await (const s of qoery.watch(jobId, { signal })) console.log(`${jobId}: ${s.status}`)
  let count = 0
  for await (const _ of qoery.rows(jobId, { signal })) count++
  console.log(`${count} rows again`)
} catch (error) {
  // Errors are discriminated by tag, each with its own fields: a QuotaExceeded has its resetDate (a Date).
  if (error instanceof QoeryApiError && error.tag === "QuotaExceeded") {
    console.error(`quota spent until ${error.resetDate?.toISOString()}`)
  } else {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error)
  }
  process.exitCode = 1
} finally {
  await qoery.close()
  await emulator?.dispose()
}
