/**
 * The `qoery` command as a user runs it: a child process against an emulator
 * served by this test process on loopback.
 */
import { JobStatus } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import { parse } from "csv-parse/sync"
import { Schema } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Cli from "./support/cli.js"
import { serve, type Served } from "./support/reliability.js"
import { wireStatus } from "./support/statuses.js"

const key = "test-secret-key-7f3a9c"

let baseUrl = ""
let quotaUrl = ""
const served: Array<Served> = []

const serveUrl = async (options: Emulator.Options) => {
  const one = await serve({ apiKeys: [key], ...options })
  served.push(one)
  return one.emulator.baseUrl
}

beforeAll(async () => {
  baseUrl = await serveUrl({ jobDuration: "2 seconds", pollingInterval: "200 millis" })
  quotaUrl = await serveUrl({ quota: 1 })
})

afterAll(async () => {
  for (const one of served) await one.dispose()
})

const connect = () => ["--base-url", baseUrl, "--api-key", key]

const decodeStatus = Schema.decodeUnknownSync(JobStatus.JobStatus)
const encodeStatus = Schema.encodeSync(JobStatus.JobStatus)

const journal = (dir: string) => {
  const file = path.join(dir, "jobs.ndjson")
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
}

const tmpFile = (dir: string, name: string) => path.join(dir, name)

/** The key must appear in no output and no journal. */
const expectNoKey = (...texts: ReadonlyArray<string>) => {
  for (const text of texts) expect(text).not.toContain(key)
}

const csvRecords = (file: string) => parse(fs.readFileSync(file), { columns: true }) as Array<Record<string, string>>

/** Starts a job straight from the command, giving its id (from the journal line it prints). */
const startJob = async (search: string, state: string) => {
  const child = Cli.start(["run", search, "--out", tmpFile(state, "bg.csv"), ...connect()], { QOERY_STATE_DIR: state })
  const stderr = await child.waitForStderr(/Started job (\d{8}_\d{6})/)
  child.kill("SIGKILL")
  await child.done
  return /Started job (\d{8}_\d{6})/.exec(stderr)![1]
}

describe("qoery run", { timeout: 120_000 }, () => {
  it("on a pipe: one plain line per change, the CSV whole, a summary, a journal without the key, exit 0", async () => {
    const state = Cli.stateDir()
    const out = tmpFile(state, "data/climate.csv")
    const result = await Cli.run(["run", "climate change statistics", "--out", out, ...connect()], {
      QOERY_STATE_DIR: state
    })
    expect(result.code).toBe(0)
    const records = csvRecords(out)
    expect(records.length).toBeGreaterThan(0)
    expect(Object.keys(records[0])).toEqual(["url", "title", "value", "dimension", "timestamp"])
    expect(result.stdout).toContain(`Done: ${records.length} rows × 5 columns written to`)
    const lines = result.stderr.split("\n")
    expect(lines.some((l) => /^\d{8}_\d{6} completed: \d+\/\d+ urls, \d+ rows/.test(l))).toBe(true)
    expect(result.stderr).not.toContain("\r")
    expect(result.stderr).not.toContain("\x1b[")
    const entries = journal(state).trim().split("\n").map((l) => JSON.parse(l))
    expect(entries).toMatchObject([
      { type: "started", search: "climate change statistics", baseUrl, out },
      { type: "ended", outcome: "completed" }
    ])
    expectNoKey(result.stdout, result.stderr, journal(state))
  })

  it("--json: stdout is NDJSON of statuses in the wire format, and nothing else", async () => {
    const state = Cli.stateDir()
    const result = await Cli.run(
      ["run", "ocean temperature", "--json", "--out", tmpFile(state, "o.csv"), ...connect()],
      { QOERY_STATE_DIR: state }
    )
    expect(result.code).toBe(0)
    const lines = result.stdout.trim().split("\n")
    expect(lines.length).toBeGreaterThan(1)
    const statuses = lines.map((line) => {
      const json = JSON.parse(line)
      const status = decodeStatus(json)
      expect(encodeStatus(status)).toEqual(json)
      expect(json).toHaveProperty("job_id")
      expect(json).toHaveProperty("progress.current_step")
      return status
    })
    expect(statuses.at(-1)!.status).toBe("completed")
    expect(statuses.slice(0, -1).every((s) => s.status === "processing")).toBe(true)
    expectNoKey(result.stdout, result.stderr)
  })

  it("a job that ends in error exits 1 and says how to get its rows", async () => {
    const state = Cli.stateDir()
    const result = await Cli.run(["run", "make it fail", "--out", tmpFile(state, "f.csv"), ...connect()], {
      QOERY_STATE_DIR: state
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/ended in error/)
    expect(fs.existsSync(tmpFile(state, "f.csv"))).toBe(false)
    expect(journal(state)).toContain("\"outcome\":\"error\"")
  })

  it("--timeout exits 4 and says how to pick the job up", async () => {
    const state = Cli.stateDir()
    const result = await Cli.run(
      ["run", "slow", "--timeout", "300ms", "--out", tmpFile(state, "t.csv"), ...connect()],
      { QOERY_STATE_DIR: state }
    )
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/qoery resume/)
    expect(fs.existsSync(tmpFile(state, "t.csv"))).toBe(false)
  })

  it("usage errors exit 2: an empty search, an unknown flag, a bad duration, an invalid job id", async () => {
    const state = Cli.stateDir()
    const env = { QOERY_STATE_DIR: state }
    const [empty, flag, duration, id] = await Cli.runAll([
      ["run", "  ", ...connect()],
      ["run", "x", "--bogus", ...connect()],
      ["run", "x", "--interval", "soon", ...connect()],
      ["status", "20251340_000000", ...connect()]
    ], env)
    expect([empty.code, flag.code, duration.code, id.code]).toEqual([2, 2, 2, 2])
    expect(empty.stderr).toMatch(/the search is empty/)
    expect(flag.stderr).toMatch(/--bogus/)
    expect(duration.stderr).toMatch(/not a duration/)
    expect(id.stderr).toMatch(/month 13 does not exist/)
    expect(journal(state)).toBe("")
  })

  it("API errors exit 3 and say what to do: a wrong key names QOERY_API_KEY, a spent quota its reset date", async () => {
    const state = Cli.stateDir()
    const env = { QOERY_STATE_DIR: state }
    const wrongKey = await Cli.run(["usage", "--base-url", baseUrl, "--api-key", "not-the-key"], env)
    expect(wrongKey.code).toBe(3)
    expect(wrongKey.stderr).toMatch(/refused the API key/)
    expect(wrongKey.stderr).toMatch(/QOERY_API_KEY/)
    expect(wrongKey.stderr).not.toContain("not-the-key")

    const unknownJob = await Cli.run(["status", "20240101_000000", ...connect()], env)
    expect(unknownJob.code).toBe(3)
    expect(unknownJob.stderr).toMatch(/has no job 20240101_000000/)

    const quota = ["--base-url", quotaUrl, "--api-key", key]
    // One call per endpoint: the start and the first poll pass, the second poll finds the quota spent.
    const spent = await Cli.run(["run", "quota", "--out", tmpFile(state, "q.csv"), ...quota], env)
    expect(spent.code).toBe(3)
    expect(spent.stderr).toMatch(/quota .* spent.*resets on \d{4}-\d{2}-\d{2}/)

    const down = await Cli.run(["health", "--base-url", "http://127.0.0.1:9"], env)
    expect(down.code).toBe(3)
    expect(down.stderr).toMatch(/no answer from http:\/\/127\.0\.0\.1:9/)
  })
})

describe("the other commands", { timeout: 120_000 }, () => {
  it("watch follows a job to the end (pipe and --json), status prints it", async () => {
    const state = Cli.stateDir()
    const jobId = await startJob("river levels", state)
    const env = { QOERY_STATE_DIR: state }
    const [watched, json] = await Promise.all([
      Cli.run(["watch", jobId, ...connect()], env),
      Cli.run(["watch", jobId, "--json", ...connect()], env)
    ])
    expect(watched.code).toBe(0)
    expect(watched.stderr).toContain(`${jobId} completed`)
    expect(watched.stdout).toContain(`qoery csv ${jobId}`)
    expect(json.code).toBe(0)
    const statuses = json.stdout.trim().split("\n").map((l) => decodeStatus(JSON.parse(l)))
    expect(statuses.at(-1)!.status).toBe("completed")

    const status = await Cli.run(["status", jobId, ...connect()], env)
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/status\s+completed/)
    const statusJson = await Cli.run(["status", jobId, "--json", ...connect()], env)
    expect(decodeStatus(JSON.parse(statusJson.stdout)).jobId).toBe(jobId)
  })

  it("status of a failed job exits 1; watch of it exits 1", async () => {
    const state = Cli.stateDir()
    const jobId = await startJob("fail please", state)
    const env = { QOERY_STATE_DIR: state }
    const watched = await Cli.run(["watch", jobId, ...connect()], env)
    expect(watched.code).toBe(1)
    const status = await Cli.run(["status", jobId, ...connect()], env)
    expect(status.code).toBe(1)
    expect(status.stdout).toMatch(/status\s+error/)
  })

  it("csv: the partial CSV while the job runs, then the whole one; to a file or stdout", async () => {
    const state = Cli.stateDir()
    const env = { QOERY_STATE_DIR: state }
    const jobId = await startJob("wind power", state)
    // Wait until the job has rows, then fetch the partial CSV.
    let partial: Cli.Result | undefined
    for (let i = 0; i < 20; i++) {
      partial = await Cli.run(["csv", jobId, "--out", tmpFile(state, "partial.csv"), ...connect()], env)
      if (partial.code === 0) break
      expect(partial.stderr).toMatch(/no rows yet/)
    }
    expect(partial!.code).toBe(0)
    const wholeRun = await Cli.run(["watch", jobId, ...connect()], env)
    expect(wholeRun.code).toBe(0)
    const stdout = await Cli.run(["csv", jobId, ...connect()], env)
    expect(stdout.code).toBe(0)
    const whole = parse(stdout.stdout, { columns: true }) as Array<unknown>
    const head = csvRecords(tmpFile(state, "partial.csv"))
    expect(head.length).toBeGreaterThan(0)
    expect(whole.length).toBeGreaterThanOrEqual(head.length)
    expect(whole.slice(0, head.length)).toEqual(head)
  })

  it("usage, plans and health, as text and --json", async () => {
    const env = { QOERY_STATE_DIR: Cli.stateDir() }
    const [usage, usageJson, plans, plansJson, health, healthJson] = await Cli.runAll([
      ["usage", ...connect()],
      ["usage", "--json", ...connect()],
      ["plans", ...connect()],
      ["plans", "--json", ...connect()],
      ["health", ...connect()],
      ["health", "--json", ...connect()]
    ], env)
    for (const r of [usage, usageJson, plans, plansJson, health, healthJson]) expect(r.code).toBe(0)
    expect(usage.stdout).toMatch(/plan\s+\w+/)
    expect(JSON.parse(usageJson.stdout)).toHaveProperty("user_id")
    expect(plans.stdout.split("\n").length).toBeGreaterThan(2)
    expect(JSON.parse(plansJson.stdout)).toHaveProperty("default_plan")
    expect(health.stdout).toContain(baseUrl)
    expect(JSON.parse(healthJson.stdout)).toHaveProperty("status")
    expectNoKey(usage.stdout, usageJson.stdout, usage.stderr)
  })

  it("with neither QOERY_API_KEY nor QOERY_BASE_URL, runs on the embedded emulator and says so in one line", async () => {
    const result = await Cli.run(["health"], { QOERY_STATE_DIR: Cli.stateDir() })
    expect(result.code).toBe(0)
    const lines = result.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/embedded emulator at http:\/\/127\.0\.0\.1:\d+/)
    expect(result.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+: ok/)
  })

  it("--help of every command has an example line", async () => {
    const commands = ["run", "watch", "status", "csv", "usage", "plans", "health", "emulator", "resume"]
    const results = await Cli.runAll(commands.map((c) => [c, "--help"]))
    results.forEach((r, i) => {
      expect(r.code, commands[i]).toBe(0)
      expect(r.stdout, commands[i]).toMatch(new RegExp(`Example: qoery ${commands[i]}`))
    })
    const top = await Cli.run(["--help"])
    expect(top.stdout).toMatch(/Example: qoery run/)
    // `qoery --help | cat`: plain text that starts with `qoery`.
    expect(top.stdout).toMatch(/^qoery /)
    expect(top.stdout).not.toContain("\x1b[")
  })
})

describe("a terminal", { timeout: 120_000 }, () => {
  it("NO_COLOR=1 qoery run --help is plain text that starts with `qoery run`; without NO_COLOR, bold headings", async () => {
    const plain = await Cli.runInTerminal(["run", "--help"], { NO_COLOR: "1" })
    expect(plain.code).toBe(0)
    expect(plain.stdout).toMatch(/^qoery run <search>/)
    expect(plain.stdout).not.toContain("\x1b[")
    const color = await Cli.runInTerminal(["run", "--help"])
    expect(color.stdout).toContain("\x1b[1mOptions:")
  })

  it("gets one progress line redrawn in place, with a bar, and the summary", async () => {
    const state = Cli.stateDir()
    const result = await Cli.runInTerminal(
      ["run", "solar output", "--out", tmpFile(state, "s.csv"), ...connect()],
      { QOERY_STATE_DIR: state }
    )
    expect(result.code).toBe(0)
    const redraws = result.stdout.split("\r\x1b[2K")
    expect(redraws.length).toBeGreaterThan(3)
    // eslint-disable-next-line no-control-regex
    expect(result.stdout).toMatch(/\r\x1b\[2K. \w+ +\[[█░]{20}\] \d+\/\d+ urls {2}\d+ rows {2}\d+:\d\d/)
    expect(result.stdout).toMatch(/✔ completed/)
    expect(result.stdout).toMatch(/Done: \d+ rows × 5 columns/)
    expectNoKey(result.stdout)
  })
})

describe("nothing lost", { timeout: 120_000 }, () => {
  it("resume after a SIGKILL mid-job watches the job and writes its CSV where run was told to", async () => {
    const state = Cli.stateDir()
    const out = tmpFile(state, "killed/result.csv")
    const env = { QOERY_STATE_DIR: state }
    const child = Cli.start(["run", "glacier mass", "--out", out, ...connect()], env)
    // The journal line is written before the first poll, and so before this message.
    await child.waitForStderr("Started job")
    child.kill("SIGKILL")
    const killed = await child.done
    expect(killed.signal).toBe("SIGKILL")
    expect(fs.existsSync(out)).toBe(false)
    expect(journal(state)).not.toContain("\"ended\"")
    const jobId = JSON.parse(journal(state).trim().split("\n")[0]).jobId as string

    const resumed = await Cli.run(["resume", ...connect()], env)
    expect(resumed.code).toBe(0)
    expect(resumed.stderr).toContain(`Job ${jobId} ("glacier mass")`)
    expect(csvRecords(out).length).toBeGreaterThan(0)
    // Ended, so compacted away.
    expect(journal(state)).toBe("")
    expectNoKey(resumed.stdout, resumed.stderr, journal(state))

    const again = await Cli.run(["resume", ...connect()], env)
    expect(again.code).toBe(0)
    expect(again.stderr).toMatch(/Nothing to resume/)
  })

  it("Ctrl-C stops polling, says how to resume, exits 130, and leaves the job to resume", async () => {
    const state = Cli.stateDir()
    const env = { QOERY_STATE_DIR: state }
    const child = Cli.start(["run", "sea ice", "--out", tmpFile(state, "i.csv"), ...connect()], env)
    await child.waitForStderr("Started job")
    child.kill("SIGINT")
    const result = await child.done
    expect(result.code).toBe(130)
    expect(result.stderr).toMatch(/Interrupted: stopped watching job \d{8}_\d{6}.*qoery resume/)
    expect(journal(state)).not.toContain("\"ended\"")
  })

  it("Ctrl-C while the start is unanswered says a job may have started without its id, exits 130", async () => {
    const server = await hostile(() => {}) // takes the POST, never answers
    try {
      const child = Cli.start(["run", "sea ice", "--base-url", server.url, "--api-key", key], {
        QOERY_STATE_DIR: Cli.stateDir()
      })
      while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20))
      child.kill("SIGINT")
      const result = await child.done
      expect(result.code).toBe(130)
      expect(result.stderr).toMatch(/Interrupted before the start was answered: .*a job may have started there/)
      expect(server.requests).toEqual(["POST /v0/datasets"])
      expectNoKey(result.stdout, result.stderr)
    } finally {
      await server.close()
    }
  })
})

/** A loopback server of our own, for what the emulator does not do; it records each request. */
const hostile = async (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) => {
  const requests: Array<string> = []
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    req.resume()
    req.on("end", () => handler(req, res))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { url, requests, close, port: (server.address() as AddressInfo).port }
}

const json = (res: http.ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))

describe("what real servers and pipes do (issue 12)", { timeout: 120_000 }, () => {
  it("a closed stdout ends the command quietly: exit 0, no stack (qoery usage | head, qoery csv JOB | head)", async () => {
    const state = Cli.stateDir()
    const env = { QOERY_STATE_DIR: state }
    const jobId = await startJob("closed pipes", state)
    await Cli.run(["watch", jobId, ...connect()], env)
    for (const args of [["usage", ...connect()], ["csv", jobId, ...connect()], ["--help"]]) {
      const result = await Cli.start(args, env, { closeStdout: true }).done
      expect(result.code, args.join(" ")).toBe(0)
      expect(result.stderr, args.join(" ")).not.toMatch(/EPIPE|Error:|at .*\.ts:\d+/)
    }
  })

  it("an explicit --interval is used as given, not clamped to the server hint's 250ms..60s (floor 100ms)", async () => {
    const server = await hostile((_req, res) => json(res, 404, { error: "Job not found" }))
    try {
      const long = await Cli.runInProcess(
        ["watch", "20251110_151628", "--interval", "2m", "--timeout", "90s", "--base-url", server.url, "--api-key", key]
      )
      // 2m is used as given, so a 90s timeout could never see two polls: refused before any request.
      expect(long.code).toBe(2)
      expect(long.stderr).toMatch(/shorter than the polling interval \(120000 ms\)/)
      expect(server.requests).toEqual([])

      const tooShort = await Cli.runInProcess(["watch", "20251110_151628", "--interval", "50ms", ...connect()])
      expect(tooShort.code).toBe(2)
      expect(tooShort.stderr).toMatch(/--interval: 50ms is less than 100ms/)
    } finally {
      await server.close()
    }
    // 100ms is not raised to 250ms: a 200ms timeout is a timeout (exit 4), not a refused option (exit 2).
    const state = Cli.stateDir()
    const fast = await Cli.runInProcess(
      [
        "run",
        "fast polls",
        "--interval",
        "100ms",
        "--timeout",
        "200ms",
        "--out",
        tmpFile(state, "f.csv"),
        ...connect()
      ],
      { QOERY_STATE_DIR: state }
    )
    expect(fast.code, fast.stderr).toBe(4)
  })

  it("a completed job with no rows whose CSV stays \"not ready\": retried for a grace, then a header-only CSV, journal ended", async () => {
    const jobId = "20251110_151628"
    const status = wireStatus({
      status: "completed",
      query: "nothing at all",
      progress: {
        current_step: "finalizing",
        rows_collected: 0,
        urls_processed: 3,
        urls_total: 3,
        last_updated: "2025-11-10T15:16:30Z"
      },
      urls: [],
      completed_at: "2025-11-10T15:16:30Z"
    })
    const server = await hostile((req, res) => {
      if (req.method === "POST") {
        return json(res, 200, { job_id: jobId, status: "processing", polling_interval_ms: 100 })
      }
      if (req.url?.endsWith("/csv")) {
        return json(res, 404, { error: "CSV not ready yet", details: "The job is still processing." })
      }
      return json(res, 200, status)
    })
    try {
      const state = Cli.stateDir()
      const out = tmpFile(state, "empty.csv")
      const result = await Cli.runInProcess(
        ["run", "nothing at all", "--out", out, "--base-url", server.url, "--api-key", key],
        { QOERY_STATE_DIR: state }
      )
      expect(result.code, result.stderr).toBe(0)
      expect(fs.readFileSync(out, "utf8")).toBe("url,title,value,dimension,timestamp\r\n")
      expect(result.stdout).toMatch(/Done: 0 rows × 5 columns written to/)
      const csvRequests = server.requests.filter((r) => r.endsWith("/csv"))
      expect(csvRequests.length).toBeGreaterThan(1)
      expect(csvRequests.length).toBeLessThanOrEqual(11)
      expect(journal(state)).toContain("\"outcome\":\"completed\"")
    } finally {
      await server.close()
    }
  })

  it("a step the client does not know (a newer server): watch and status show it as it came, exit 0", async () => {
    const jobId = "20251110_151628"
    const at = (step: string, status: "processing" | "completed") =>
      wireStatus({
        status,
        query: "newer server",
        progress: {
          current_step: step,
          rows_collected: 3,
          urls_processed: 1,
          urls_total: 3,
          last_updated: status === "completed" ? "2025-11-10T15:16:31Z" : "2025-11-10T15:16:30Z"
        },
        urls: [],
        ...(status === "completed" ? { completed_at: "2025-11-10T15:16:31Z" } : {})
      })
    let polls = 0
    const server = await hostile((_req, res) =>
      json(res, 200, polls++ < 2 ? at("uploading", "processing") : at("finalizing", "completed"))
    )
    try {
      const state = Cli.stateDir()
      const env = { QOERY_STATE_DIR: state }
      const connection = ["--base-url", server.url, "--api-key", key]
      const status = await Cli.runInProcess(["status", jobId, ...connection], env)
      expect(status.code, status.stderr).toBe(0)
      expect(status.stdout).toMatch(/status\s+processing \(uploading\)/)
      const watched = await Cli.runInProcess(["watch", jobId, "--interval", "100ms", ...connection], env)
      expect(watched.code, watched.stderr).toBe(0)
      expect(watched.stderr).toContain(`${jobId} uploading: 1/3 urls, 3 rows`)
      expect(watched.stderr).toContain(`${jobId} completed`)
      expect(watched.stderr).not.toMatch(/does not understand/)
    } finally {
      await server.close()
    }
  })

  it("a server's escape sequences and carriage returns are shown, not obeyed: status and watch", async () => {
    const jobId = "20251110_151628"
    const hostileText = "boom\x1b[2J\x1b]0;pwned\x07\rfake line"
    const failed = wireStatus({
      status: "error",
      query: "sea\x1b[31m ice",
      error: hostileText,
      progress: {
        current_step: "scraping",
        rows_collected: 3,
        urls_processed: 1,
        urls_total: 3,
        last_updated: "2025-11-10T15:16:30Z"
      },
      urls: [],
      completed_at: "2025-11-10T15:16:31Z"
    })
    const server = await hostile((_req, res) => json(res, 200, failed))
    try {
      const connection = ["--base-url", server.url, "--api-key", key]
      for (const args of [["status", jobId], ["watch", jobId]]) {
        const result = await Cli.runInProcess([...args, ...connection], { QOERY_STATE_DIR: Cli.stateDir() })
        const printed = result.stdout + result.stderr
        expect(printed, args[0]).toContain("boom\\x1b[2J\\x1b]0;pwned\\x07\\x0dfake line")
        // eslint-disable-next-line no-control-regex
        expect(printed, args[0]).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/)
      }
    } finally {
      await server.close()
    }
  })

  /** A server with one completed job of 1250 rows, whose CSV route answers 200 with `body` as `contentType`. */
  const completedJob = (body: Uint8Array | string, contentType: string) => {
    const jobId = "20251110_151628"
    const status = wireStatus({
      status: "completed",
      query: "a proxy in the way",
      progress: {
        current_step: "finalizing",
        rows_collected: 1250,
        urls_processed: 3,
        urls_total: 3,
        last_updated: "2025-11-10T15:16:30Z"
      },
      urls: [],
      completed_at: "2025-11-10T15:16:30Z"
    })
    const bytes = typeof body === "string" ? Buffer.from(body) : body
    return hostile((req, res) => {
      if (req.method === "POST") {
        return json(res, 200, { job_id: jobId, status: "processing", polling_interval_ms: 100 })
      }
      if (req.url?.endsWith("/csv")) {
        return res.writeHead(200, { "content-type": contentType, "content-length": String(bytes.length) }).end(bytes)
      }
      return json(res, 200, status)
    }).then((server) => ({ ...server, jobId }))
  }

  const proxyPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"

  it("csv to stdout refuses what --out refuses (a proxy's HTML page, an undecoded gzip body): exit 3, stdout empty", async () => {
    const bodies = [
      ["text/html", proxyPage, /the header has no "url" column/],
      ["text/csv", zlib.gzipSync("url,title,value,dimension,timestamp\r\n".repeat(50)), /the CSV is malformed/]
    ] as const
    for (const [contentType, body, says] of bodies) {
      const server = await completedJob(body, contentType)
      try {
        const connection = ["--base-url", server.url, "--api-key", key]
        const stdout = await Cli.runInProcess(["csv", server.jobId, ...connection])
        expect(stdout.code, stdout.stderr).toBe(3)
        expect(stdout.stdout).toBe("")
        expect(stdout.stderr).toMatch(says)
        const state = Cli.stateDir()
        const out = tmpFile(state, "proxy.csv")
        const file = await Cli.runInProcess(["csv", server.jobId, "--out", out, ...connection])
        expect(file.code, file.stderr).toBe(3)
        expect(file.stderr).toMatch(says)
        expect(fs.existsSync(out)).toBe(false)
      } finally {
        await server.close()
      }
    }
  })

  it("an empty 200 CSV of a completed job of 1250 rows is refused (no header line): csv and run exit 3, nothing written", async () => {
    // The spec's CSV always starts with its header (a job with no rows yet is a 404 "not ready"), partial or not.
    const server = await completedJob("", "text/csv")
    try {
      const connection = ["--base-url", server.url, "--api-key", key]
      const stdout = await Cli.runInProcess(["csv", server.jobId, ...connection])
      expect(stdout.code, stdout.stderr).toBe(3)
      expect(stdout.stdout).toBe("")
      expect(stdout.stderr).toMatch(/the CSV has no header line/)
      const state = Cli.stateDir()
      const out = tmpFile(state, "empty.csv")
      const file = await Cli.runInProcess(["csv", server.jobId, "--out", out, ...connection])
      expect(file.code, file.stderr).toBe(3)
      expect(file.stderr).toMatch(/the CSV has no header line/)
      expect(fs.existsSync(out)).toBe(false)
      const run = await Cli.runInProcess(["run", "a proxy in the way", "--out", out, ...connection], {
        QOERY_STATE_DIR: state
      })
      expect(run.code, run.stderr).toBe(3)
      expect(run.stderr).toMatch(/the CSV has no header line/)
      expect(run.stdout).not.toMatch(/Done:/)
      expect(fs.existsSync(out)).toBe(false)
    } finally {
      await server.close()
    }
  })

  it("qoery emulator on a busy port says the port is in use and exits 2", async () => {
    const busy = await hostile((_req, res) => res.end())
    try {
      const result = await Cli.runInProcess(["emulator", "--port", String(busy.port)])
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(new RegExp(`port ${busy.port} is in use`))
      expect(result.stderr).not.toMatch(/unexpected failure/)
    } finally {
      await busy.close()
    }
  })

  it("a job that fails on the embedded emulator does not suggest `qoery csv` (that emulator is gone)", async () => {
    const state = Cli.stateDir()
    const result = await Cli.runInProcess(["run", "make it fail", "--out", tmpFile(state, "e.csv")], {
      QOERY_STATE_DIR: state
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/ended in error/)
    expect(result.stderr).not.toMatch(/qoery csv/)
    expect(result.stderr).toMatch(/run the search again|qoery emulator/)
  })
})
