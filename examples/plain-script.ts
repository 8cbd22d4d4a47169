/**
 * Stream a job's status from a plain TypeScript script, with no Effect in
 * sight: Promises, `for await` and an `AbortSignal`.
 *
 *   npx tsx --conditions=source examples/plain-script.ts "air quality index"
 *
 * Uses the real service when QOERY_API_KEY is set; else it starts a local
 * emulator first (the only lines here that know about Effect).
 */
import { createClient } from "@effect-qoery/client/promise"
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
  const { jobId } = await qoery.startJob(search, { signal })
  console.log(`started job ${jobId}`)
  for await (const status of qoery.watch(jobId, { signal })) {
    const { currentStep, urlsProcessed, urlsTotal, rowsCollected } = status.progress
    console.log(`${status.status} ${currentStep}: ${urlsProcessed}/${urlsTotal} urls, ${rowsCollected} rows`)
  }
  let count = 0
  for await (const row of qoery.rows(jobId, { signal })) {
    if (count++ < 3) console.log(`  ${row.title}: ${row.value} (${row.dimension})`)
  }
  console.log(`${count} rows`)
} catch (error) {
  // Errors are Error subclasses named by their tag, with their fields: error.name === "Unauthorized", ...
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error)
  process.exitCode = 1
} finally {
  await qoery.close()
  await emulator?.dispose()
}
