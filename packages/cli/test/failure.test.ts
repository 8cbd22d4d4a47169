import { JobStatus, JobWatcher, QoeryError } from "@effect-qoery/client"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Schema } from "effect"
import { wireStatus } from "../../../test/support/statuses.js"
import * as Failure from "../src/internal/failure.js"

const failed = (rows: number) =>
  Schema.decodeUnknownSync(JobStatus.Failed)(wireStatus({
    status: "error",
    query: "make it fail",
    error: "scraper crashed",
    progress: { rows_collected: rows, urls_processed: 2, urls_total: 5 }
  }))

describe("explain", () => {
  it("gives each kind of failure its exit code", () => {
    const cases: ReadonlyArray<readonly [Failure.CliError, number]> = [
      [new Failure.UsageError({ problem: "p", hint: "h" }), 2],
      [new QoeryError.InvalidInput({ field: "apiKey", description: "d" }), 2],
      [new QoeryError.Unauthorized({ error: "Invalid API key" }), 3],
      [new QoeryError.TransportError({ reason: "Transport", description: "down" }), 3],
      [new QoeryError.TransportError({ reason: "Timeout", description: "took longer than 30s" }), 3],
      [new QoeryError.ServerError({ status: 503, error: "Service Unavailable" }), 3],
      [new QoeryError.RateLimited({ retryAfter: Duration.seconds(30) }), 3],
      [new QoeryError.QuotaExceeded({ error: "Monthly quota exceeded" }), 3],
      [new JobWatcher.JobFailed({ status: failed(0) }), 1],
      [new JobWatcher.WatchTimeout({ jobId: "20251110_151628", elapsed: Duration.seconds(3) }), 4],
      [new Failure.OutputError({ closed: true, description: "EPIPE" }), 0],
      [new Failure.OutputError({ closed: false, description: "EIO" }), 3],
      [new Failure.Reported({ code: 1 }), 1]
    ]
    for (const [error, code] of cases) assert.strictEqual(Failure.explain(error).code, code, error._tag)
  })

  it("a closed stdout ends quietly", () => {
    assert.deepStrictEqual(Failure.explain(new Failure.OutputError({ closed: true, description: "EPIPE" })).lines, [])
  })

  it("a failed job's rows: `qoery csv` on a server, never on the embedded emulator that is gone", () => {
    const onServer = Failure.explain(new JobWatcher.JobFailed({ status: failed(12) }), { baseUrl: "http://x" })
    assert.include(onServer.lines.join("\n"), "qoery csv 20251110_151628 --out FILE")
    const embedded = Failure.explain(new JobWatcher.JobFailed({ status: failed(12) }), { embedded: true })
    assert.notInclude(embedded.lines.join("\n"), "qoery csv")
    assert.include(embedded.lines.join("\n"), "qoery emulator")
  })

  it("a timeout says where the job was", () => {
    const explained = Failure.explain(
      new JobWatcher.WatchTimeout({ jobId: "20251110_151628", elapsed: Duration.seconds(3) })
    )
    assert.match(explained.lines[0]!, /stopped waiting for job 20251110_151628 after 3\.0s/)
    assert.notInclude(explained.lines[0]!, "failed")
    assert.include(explained.lines[1]!, "qoery resume")
    const failing = Failure.explain(
      new JobWatcher.WatchTimeout({
        jobId: "20251110_151628",
        elapsed: Duration.seconds(3),
        lastError: "Server error 503: Service Unavailable"
      })
    )
    assert.include(failing.lines[0]!, "The polls since failed, the last with: Server error 503: Service Unavailable")
  })
})
