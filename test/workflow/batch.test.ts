/**
 * `qoery batch` on SQLite as a user runs it: a child process against an
 * emulator served by this test process on loopback, killed with SIGKILL in
 * the middle of a batch and run again.
 */
import { Emulator } from "@effect-qoery/emulator"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { parse } from "csv-parse/sync"
import { Effect, ManagedRuntime, Option } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Cli from "../support/cli.js"

const key = "batch-test-key-51c2"

let runtime: ManagedRuntime.ManagedRuntime<Emulator.Emulator, unknown>
let emulator: Emulator.Service

beforeAll(async () => {
  runtime = ManagedRuntime.make(
    Emulator.layer({ port: 0, apiKeys: [key], jobDuration: "4 seconds", pollingInterval: "250 millis" })
  )
  emulator = await runtime.runPromise(Emulator.Emulator)
})

afterAll(async () => {
  await runtime.dispose()
})

const stats = () => runtime.runPromise(emulator.stats)
const expectedCsv = (jobId: string) => runtime.runPromise(emulator.expectedCsv(jobId)).then(Option.getOrThrow)

const connect = () => ["--base-url", emulator.baseUrl, "--api-key", key]

/** Every line of the form `completed  <job>  <search>: <rows> rows, <path>`. */
const completedLines = (stderr: string) =>
  [...stderr.matchAll(/^completed {2}(\d{8}_\d{6}) {2}(.*): (\d+) rows, (.*)$/gm)].map((m) => ({
    jobId: m[1],
    search: m[2],
    rows: Number(m[3]),
    file: m[4]
  }))

const count = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].length

/** The searches shown as started (or already completed). */
const startedSearches = (stderr: string) =>
  new Set([...stderr.matchAll(/^(?:started|completed) {2,}\d{8}_\d{6} {2}(.*?)(?::|$)/gm)].map((m) => m[1])).size

/** Resolves once the child's stderr satisfies `ready`; rejects if the child ends first. */
const waitForStderr = (child: Cli.Child, ready: (stderr: string) => boolean) =>
  new Promise<void>((resolve, reject) => {
    let ended = false
    child.done.then(() => ended = true)
    const check = () => {
      if (ready(child.stderr())) return resolve()
      if (ended) return reject(new Error(`qoery ended first:\n${child.stderr()}`))
      setTimeout(check, 50)
    }
    check()
  })

describe("qoery batch run on SQLite", { timeout: 240_000 }, () => {
  it("SIGKILL while 50 jobs run, then the same command: each search started once, every CSV whole, exit 0", async () => {
    const state = Cli.stateDir()
    const out = path.join(state, "out")
    const searches = Array.from({ length: 50 }, (_, i) => `batch search number ${i + 1}`)
    const list = path.join(state, "searches.txt")
    fs.writeFileSync(list, `# fifty searches\n${searches.slice(10).join("\n")}\n\n`)
    const args = ["batch", "run", ...searches.slice(0, 10), "--from", list, "--out", out, "--concurrency", "50"]
    const before = (await stats()).jobsStarted

    const first = Cli.start([...args, ...connect()], { QOERY_STATE_DIR: state })
    // Every job started and a few done: the rest are running when the process dies.
    await waitForStderr(first, (text) => startedSearches(text) === 50 && count(text, /^completed /gm) >= 3)
    first.kill("SIGKILL")
    const killed = await first.done
    expect(killed.signal).toBe("SIGKILL")
    const doneBefore = completedLines(killed.stderr).length
    expect(doneBefore).toBeLessThan(50)

    const second = await Cli.run([...args, ...connect()], { QOERY_STATE_DIR: state })
    expect(second.stderr).not.toContain(key)
    expect(second.code).toBe(0)
    expect(second.stdout).toContain("Batch: 50 completed, 0 ended in error, 0 failed (of 50).")
    // 50 distinct searches, 50 starts in all: each search was started exactly once.
    expect((await stats()).jobsStarted - before).toBe(50)
    const done = completedLines(second.stderr)
    expect(done.map((d) => d.search).sort()).toEqual([...searches].sort())
    expect(new Set(done.map((d) => d.jobId)).size).toBe(50)
    for (const { file, jobId, rows } of done) {
      const text = fs.readFileSync(file, "utf8")
      expect(text).toBe(await expectedCsv(jobId))
      expect(parse(text, { columns: true })).toHaveLength(rows)
    }
    // Only the CSVs: no temporary file left by the killed process.
    expect(fs.readdirSync(out).sort()).toEqual(done.map((d) => path.basename(d.file)).sort())

    const status = await Cli.run(["batch", "status", "--json"], { QOERY_STATE_DIR: state })
    expect(status.code).toBe(0)
    const rows = status.stdout.trim().split("\n").map((l) => JSON.parse(l))
    expect(rows).toHaveLength(50)
    for (const row of rows) {
      expect(row.state).toBe("completed")
      expect(done.find((d) => d.search === row.search)).toMatchObject({ jobId: row.jobId, file: row.csv })
    }
  })

  it("--json: one NDJSON line per change on stdout, exit 1 when a job ends in error", async () => {
    const state = Cli.stateDir()
    const result = await Cli.run(
      [
        "batch",
        "run",
        "sea level rise",
        "this one will fail",
        "--out",
        path.join(state, "out"),
        "--json",
        ...connect()
      ],
      { QOERY_STATE_DIR: state }
    )
    expect(result.stderr).toBe("")
    expect(result.code).toBe(1)
    const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l))
    const last = (search: string) => lines.filter((l) => l.search === search).at(-1)
    expect(last("sea level rise")).toMatchObject({ state: "completed", error: null })
    expect(last("this one will fail")).toMatchObject({ state: "error", error: { tag: "JobFailed" } })
    expect(fs.existsSync(last("sea level rise").csv)).toBe(true)
  })

  it("a refused key ends every job as failed: exit 3, nothing stored, the key in no output", async () => {
    const state = Cli.stateDir()
    const result = await Cli.run(
      ["batch", "run", "wind power", "--out", path.join(state, "out"), "--base-url", emulator.baseUrl],
      { QOERY_STATE_DIR: state, QOERY_API_KEY: "wrong-key-not-printed" }
    )
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/^failed .*wind power: Unauthorized/m)
    expect(result.stderr + result.stdout).not.toContain("wrong-key-not-printed")
    expect(fs.existsSync(path.join(state, "out"))).toBe(false)
  })

  it("--submit-only enqueues without starting anything; a later run does the work", async () => {
    const state = Cli.stateDir()
    const out = path.join(state, "out")
    const before = (await stats()).jobsStarted
    const submitted = await Cli.run(["batch", "run", "forest cover", "--out", out, "--submit-only"], {
      QOERY_STATE_DIR: state
    })
    expect(submitted.code).toBe(0)
    expect((await stats()).jobsStarted).toBe(before)
    const status = await Cli.run(["batch", "status"], { QOERY_STATE_DIR: state })
    expect(status.stdout).toMatch(/^submitted +- +forest cover/m)
    const run = await Cli.run(["batch", "run", "forest cover", "--out", out, ...connect()], { QOERY_STATE_DIR: state })
    expect(run.code).toBe(0)
    expect((await stats()).jobsStarted - before).toBe(1)
  })
})

/** A port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

describe("qoery batch, bad input: refused before anything starts", { timeout: 120_000 }, () => {
  const untouched = async (args: ReadonlyArray<string>, code: number) => {
    const state = Cli.stateDir()
    const before = (await stats()).requests.start
    const flags = args[1] === "status" ? [] : connect()
    const result = await Cli.run([...args, ...flags], { QOERY_STATE_DIR: state })
    expect(result.code).toBe(code)
    expect((await stats()).requests.start).toBe(before)
    // Not even the default database was created.
    expect(fs.existsSync(path.join(state, "batch.db"))).toBe(false)
    return result
  }

  it("a --db URL that is neither a file nor postgres:// is a usage error (exit 2)", async () => {
    const result = await untouched(["batch", "run", "x", "--out", "out", "--db", "mysql://127.0.0.1/db"], 2)
    expect(result.stderr).toContain(`--db "mysql:" is neither a file path nor a postgres:// URL`)
  })

  it("an unreachable Postgres says so (exit 3), without the password", async () => {
    const port = await closedPort()
    const url = `postgres://qoery:secret-pw-9@127.0.0.1:${port}/qoery`
    const result = await untouched(["batch", "run", "x", "--out", "out", "--db", url], 3)
    expect(result.stderr).toContain(`cannot reach Postgres at postgres://qoery@127.0.0.1:${port}/qoery`)
    expect(result.stderr).not.toContain("secret-pw-9")
  })

  it("a file that is not a SQLite database is refused and left unchanged (exit 2)", async () => {
    const state = Cli.stateDir()
    const file = path.join(state, "notes.db")
    fs.writeFileSync(file, "my notes, not a database\n")
    const result = await untouched(["batch", "run", "x", "--out", "out", "--db", file], 2)
    expect(result.stderr).toContain("is not a SQLite database, so it is not a qoery batch database")
    expect(fs.readFileSync(file, "utf8")).toBe("my notes, not a database\n")
  })

  it("a SQLite database of someone else's is refused and left unchanged (exit 2)", async () => {
    const state = Cli.stateDir()
    const file = path.join(state, "app.db")
    await Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)`
      yield* sql`INSERT INTO customers (name) VALUES ('Ada')`
    }).pipe(Effect.provide(SqliteClient.layer({ filename: file, disableWAL: true })), Effect.runPromise)
    const bytes = fs.readFileSync(file)
    const result = await untouched(["batch", "run", "x", "--out", "out", "--db", file], 2)
    expect(result.stderr).toContain("has tables of its own (customers)")
    expect(fs.readFileSync(file).equals(bytes)).toBe(true)
    expect(fs.readdirSync(state).sort()).toEqual(["app.db"])
  })

  it("a blank search in the --from file, a bad --concurrency, a worker on SQLite: usage errors (exit 2)", async () => {
    const list = path.join(Cli.stateDir(), "list.txt")
    fs.writeFileSync(list, "ok search\n\u0007bell\n")
    expect((await untouched(["batch", "run", "--from", list, "--out", "out"], 2)).stderr).toContain("invalid search")
    expect((await untouched(["batch", "run", "x", "--out", "out", "--concurrency", "0"], 2)).stderr).toContain(
      "--concurrency 0 is out of range"
    )
    expect((await untouched(["batch", "worker", "--out", "out"], 2)).stderr).toContain(
      "a worker needs a shared database"
    )
  })
})
