/**
 * The journal of `qoery run` and `qoery resume`, as a user meets it: child
 * processes against emulators and a recording server, all on loopback.
 */
import { JobStatus } from "@effect-qoery/client"
import { Emulator, Faults } from "@effect-qoery/emulator"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Cli from "./support/cli.js"
import { recordingServer, serve, type Served } from "./support/reliability.js"
import { wireStatus } from "./support/statuses.js"

const key = "journal-secret-key-5d2e81"

let baseUrl = ""
let held: Emulator.Service
const served: Array<Served> = []

const emulator = async (options: Emulator.Options) => {
  const one = await serve({ apiKeys: [key], ...options })
  served.push(one)
  return one.emulator
}

beforeAll(async () => {
  baseUrl = (await emulator({ jobDuration: "2 seconds", pollingInterval: "200 millis" })).baseUrl
  held = await emulator({ jobDuration: "2 seconds", pollingInterval: "200 millis" })
})

afterAll(async () => {
  for (const one of served) await one.dispose()
})

const journalFile = (dir: string) => path.join(dir, "jobs.ndjson")
const journal = (dir: string) => fs.existsSync(journalFile(dir)) ? fs.readFileSync(journalFile(dir), "utf8") : ""
const entries = (dir: string) =>
  journal(dir).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>)

const expectNoKey = (...texts: ReadonlyArray<string>) => {
  for (const text of texts) expect(text).not.toContain(key)
}

/** `qoery run`, killed with SIGKILL once it says the job started (so after the journal line): the job id. */
const startAndKill = async (search: string, state: string, url: string, out: string) => {
  const child = Cli.start(["run", search, "--out", out, "--base-url", url, "--api-key", key], {
    QOERY_STATE_DIR: state
  })
  const stderr = await child.waitForStderr(/Started job (\d{8}_\d{6})/)
  child.kill("SIGKILL")
  await child.done
  return /Started job (\d{8}_\d{6})/.exec(stderr)![1]
}

const startedLine = (fields: Record<string, string>) =>
  JSON.stringify({ type: "started", search: "elsewhere", startedAt: "2025-11-10T15:16:28.000Z", ...fields })

describe("qoery resume and the origin of a job", { timeout: 120_000 }, () => {
  it("sends the key only to the configured origin; a job journaled on another is left, with the base URL to set", async () => {
    const other = await recordingServer()
    try {
      const state = Cli.stateDir()
      const out = path.join(state, "here.csv")
      const jobId = await startAndKill("origin here", state, baseUrl, out)
      const foreign = "20251110_151628"
      fs.appendFileSync(
        journalFile(state),
        startedLine({ jobId: foreign, baseUrl: other.baseUrl, out: path.join(state, "there.csv") }) + "\n"
      )

      const resumed = await Cli.run(["resume"], { QOERY_STATE_DIR: state, QOERY_BASE_URL: baseUrl, QOERY_API_KEY: key })
      expect(other.requests).toEqual([])
      expect(resumed.code).toBe(2)
      expect(resumed.stderr).toContain(`Job ${jobId} ("origin here") on ${baseUrl}:`)
      expect(resumed.stderr).toContain(`Job ${foreign} ("elsewhere") was started on ${other.baseUrl}`)
      expect(resumed.stderr).toContain(`QOERY_BASE_URL=${other.baseUrl}`)
      expect(resumed.stderr).toContain(`--base-url ${other.baseUrl}`)
      expect(fs.existsSync(out)).toBe(true)
      // Compacted: the job that ended is gone, the one left is still there to resume.
      expect(entries(state).map((e) => e.jobId)).toEqual([foreign])
      expectNoKey(resumed.stdout, resumed.stderr, journal(state))

      // Pointed at the other origin, with that server's key: the job is resumed there, and only that key is sent.
      const there = await Cli.run(["resume", "--base-url", other.baseUrl], {
        QOERY_STATE_DIR: state,
        QOERY_API_KEY: "the-other-servers-key"
      })
      expect(other.requests.length).toBeGreaterThan(0)
      for (const { headers } of other.requests) {
        expect(headers["x-api-key"]).toBe("the-other-servers-key")
        expectNoKey(JSON.stringify(headers))
      }
      expect(there.code).toBe(3)
      expect(there.stderr).toContain(`has no job ${foreign}`)
      expect(journal(state)).toBe("")
    } finally {
      await other.close()
    }
  })
})

describe("a torn journal", { timeout: 120_000 }, () => {
  it("an append after a torn line starts on a fresh line; the torn line and an invalid job id are skipped with a warning", async () => {
    const state = Cli.stateDir()
    fs.writeFileSync(
      journalFile(state),
      startedLine({ jobId: "../../etc/passwd", baseUrl, out: path.join(state, "bad.csv") }) + "\n" +
        `{"type":"started","jobId":"20251110_15`
    )
    const out = path.join(state, "after-torn.csv")
    const jobId = await startAndKill("after a crash", state, baseUrl, out)

    const resumed = await Cli.run(["resume", "--base-url", baseUrl, "--api-key", key], { QOERY_STATE_DIR: state })
    expect(resumed.stderr).toMatch(
      /warning: line 1 of .*jobs\.ndjson names an invalid job id "\.\.\/\.\.\/etc\/passwd"; skipped it/
    )
    expect(resumed.stderr).toMatch(/warning: line 2 of .*jobs\.ndjson is not a whole journal entry/)
    expect(resumed.stderr).toContain(`Job ${jobId} ("after a crash")`)
    expect(resumed.code).toBe(0)
    expect(fs.existsSync(out)).toBe(true)
    expect(journal(state)).toBe("")

    const again = await Cli.run(["resume", "--base-url", baseUrl, "--api-key", key], { QOERY_STATE_DIR: state })
    expect(again.code).toBe(0)
    expect(again.stderr).not.toContain("warning")
    expect(again.stderr).toMatch(/Nothing to resume/)
  })
})

describe("two qoery resume at once", { timeout: 120_000 }, () => {
  it("the second says another one is running and exits 3; the first finishes and compacts the journal", async () => {
    const state = Cli.stateDir()
    const out = path.join(state, "once.csv")
    const env = { QOERY_STATE_DIR: state, QOERY_BASE_URL: held.baseUrl, QOERY_API_KEY: key }
    const jobId = await startAndKill("only once", state, held.baseUrl, out)
    // The job stays processing, whatever the time, until the faults are cleared: the first resume follows it
    // for as long as the second takes to start.
    const processing = wireStatus({
      job_id: jobId,
      query: "only once",
      progress: { rows_collected: 0, urls_processed: 0, urls_total: 4, last_updated: new Date().toISOString() },
      urls: [],
      csv_url: `${held.baseUrl}/v0/datasets/${jobId}/csv`,
      started_at: new Date().toISOString()
    })
    Schema.decodeUnknownSync(JobStatus.JobStatus)(processing)
    await Effect.runPromise(held.setFaults("status", Faults.rate(1, { kind: "status", status: 200, body: processing })))

    const first = Cli.start(["resume"], env)
    try {
      await first.waitForStderr(`Job ${jobId}`)
      const second = await Cli.run(["resume"], env)
      expect(second.code).toBe(3)
      expect(second.stderr).toContain(`another qoery resume (process ${first.pid}) is using the journal`)
      expect(second.stderr).not.toContain(`Job ${jobId}`)
    } finally {
      await Effect.runPromise(held.clearFaults)
    }

    const done = await first.done
    expect(done.code).toBe(0)
    expect(done.stdout).toMatch(/Done: \d+ rows/)
    expect(fs.existsSync(out)).toBe(true)
    expect(journal(state)).toBe("")
    expect(fs.readdirSync(state).sort()).toEqual(["jobs.ndjson", "once.csv"])
  })

  it("a resume killed with SIGKILL leaves a lock that the next resume takes over once stale", async () => {
    const state = Cli.stateDir()
    const out = path.join(state, "killed.csv")
    const env = { QOERY_STATE_DIR: state, QOERY_BASE_URL: baseUrl, QOERY_API_KEY: key }
    const jobId = await startAndKill("killed resume", state, baseUrl, out)

    const killed = Cli.start(["resume"], env)
    await killed.waitForStderr("Resuming 1 job")
    killed.kill("SIGKILL")
    expect((await killed.done).signal).toBe("SIGKILL")
    expect(fs.existsSync(path.join(state, "jobs.ndjson.resume.lock"))).toBe(true)

    const next = await Cli.run(["resume"], env)
    expect(next.stderr).not.toContain("another qoery resume")
    expect(next.stderr).toContain(`Job ${jobId} ("killed resume")`)
    expect(next.code).toBe(0)
    expect(fs.existsSync(out)).toBe(true)
    expect(fs.existsSync(path.join(state, "jobs.ndjson.resume.lock"))).toBe(false)
  })
})

describe("an unwritable journal", { timeout: 120_000 }, () => {
  it("run fails with exit 3 and a clear message before starting the job; --no-journal runs without one", async () => {
    const server = await recordingServer()
    try {
      const parent = Cli.stateDir()
      fs.writeFileSync(path.join(parent, "a-file"), "")
      // A folder under a regular file cannot be made, whoever runs the test (root included).
      const state = path.join(parent, "a-file", "state")
      const out = path.join(parent, "never.csv")
      const result = await Cli.run(
        ["run", "unjournaled", "--out", out, "--base-url", server.baseUrl, "--api-key", key],
        {
          QOERY_STATE_DIR: state
        }
      )
      expect(result.code).toBe(3)
      expect(server.requests).toEqual([])
      expect(result.stderr).toContain(`the journal ${path.join(state, "jobs.ndjson")} cannot be written`)
      expect(result.stderr).toContain("nothing was started")
      expect(result.stderr).toContain("--no-journal")
      expect(result.stderr).not.toContain("Started job")
      expectNoKey(result.stdout, result.stderr)

      const unjournaled = await Cli.run(
        ["run", "unjournaled", "--no-journal", "--out", out, "--base-url", baseUrl, "--api-key", key],
        { QOERY_STATE_DIR: state }
      )
      expect(unjournaled.code).toBe(0)
      expect(unjournaled.stderr).toMatch(/Started job \d{8}_\d{6}/)
      expect(unjournaled.stdout).toMatch(/Done: \d+ rows/)
      expect(unjournaled.stderr).not.toContain("warning")
      expect(fs.existsSync(out)).toBe(true)
      expectNoKey(unjournaled.stdout, unjournaled.stderr)
    } finally {
      await server.close()
    }
  })
})
