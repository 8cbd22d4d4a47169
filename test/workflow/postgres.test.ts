/**
 * `qoery batch worker` on a real Postgres: three workers share a batch of 200
 * searches submitted by `--submit-only`; one is killed with SIGKILL mid-run,
 * and the other two take over its jobs and finish every one exactly once.
 *
 * The server is a throwaway cluster made with `initdb` and `pg_ctl` (Debian's
 * `postgresql` package) in a temporary folder on a free port, run as the
 * `postgres` user when this process is root (initdb refuses root), or the
 * server at `QOERY_PG_URL` when that is set. Without either, the test is
 * skipped with how to run it; under `CI` it is never skipped.
 */
import { Emulator } from "@effect-qoery/emulator"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Either, Exit, ManagedRuntime, Option, Redacted } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as BatchDatabase from "../../packages/cli/src/internal/batchDatabase.js"
import * as Ledger from "../../packages/cli/src/internal/batchLedger.js"
import * as Cli from "../support/cli.js"

const key = "pg-batch-key-3d1e"

/** The folder of initdb and pg_ctl, the newest version installed. */
const pgBin = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!fs.existsSync(root)) return undefined
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
  versions.sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : path.join(root, versions[0], "bin")
}

const configuredUrl = process.env.QOERY_PG_URL !== undefined && process.env.QOERY_PG_URL !== ""
  ? process.env.QOERY_PG_URL
  : undefined
const bin = pgBin()
const available = configuredUrl !== undefined || bin !== undefined
const required = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false"

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

interface Server {
  readonly url: string
  readonly stop: () => void
}

/** Runs a command as the `postgres` user when this process is root. */
const asPostgres = (file: string, args: ReadonlyArray<string>) =>
  process.getuid?.() === 0
    ? execFileSync("runuser", ["-u", "postgres", "--", file, ...args], { stdio: "pipe" })
    : execFileSync(file, [...args], { stdio: "pipe" })

/** A throwaway cluster: initdb in a temporary folder, started on a free loopback port. */
const startCluster = async (binDir: string): Promise<Server> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qoery-pg-"))
  const data = path.join(dir, "data")
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres", dir])
  const port = await freePort()
  asPostgres(path.join(binDir, "initdb"), ["-D", data, "-U", "qoery", "--auth=trust", "-E", "UTF8"])
  asPostgres(path.join(binDir, "pg_ctl"), [
    "-D",
    data,
    "-l",
    path.join(dir, "server.log"),
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off`,
    "start"
  ])
  return {
    url: `postgres://qoery@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        asPostgres(path.join(binDir, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

const skipReason = "no Postgres: install Debian's postgresql package (apt-get install postgresql, which gives " +
  "/usr/lib/postgresql/*/bin/initdb) or set QOERY_PG_URL=postgres://user@127.0.0.1:5432/db to run this test"

/** Resolves once `ready` holds; rejects after `ms`. */
const until = (ready: () => boolean, ms: number, what: () => string) =>
  new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + ms
    const check = () => {
      if (ready()) return resolve()
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what()}`))
      setTimeout(check, 100)
    }
    check()
  })

/** The searches each line of a worker's stderr says were started or completed. */
const linesOf = (stderr: string, state: "started" | "completed") =>
  [...stderr.matchAll(new RegExp(`^${state} +(\\d{8}_\\d{6}) {2}(.*?)(?::|$)`, "gm"))].map((m) => ({
    jobId: m[1],
    search: m[2]
  }))

if (!available && !required) {
  describe("qoery batch worker on Postgres", () => {
    it.skip(skipReason, () => {})
  })
} else {
  describe("qoery batch worker on Postgres", { timeout: 420_000 }, () => {
    let server: Server | undefined
    let runtime: ManagedRuntime.ManagedRuntime<Emulator.Emulator, unknown>
    let emulator: Emulator.Service

    beforeAll(async () => {
      if (!available) throw new Error(`CI is set, so this test must run: ${skipReason}`)
      server = configuredUrl !== undefined ? { url: configuredUrl, stop: () => {} } : await startCluster(bin!)
      runtime = ManagedRuntime.make(
        Emulator.layer({ port: 0, apiKeys: [key], jobDuration: "12 seconds", pollingInterval: "500 millis" })
      )
      emulator = await runtime.runPromise(Emulator.Emulator)
    }, 120_000)

    afterAll(async () => {
      await runtime?.dispose()
      server?.stop()
    })

    it("200 searches over three workers, one SIGKILLed mid-run: the other two finish every job exactly once", async () => {
      const state = Cli.stateDir()
      const out = path.join(state, "out")
      const searches = Array.from({ length: 200 }, (_, i) => `shared batch ${i + 1}`)
      const list = path.join(state, "searches.txt")
      fs.writeFileSync(list, searches.join("\n") + "\n")
      const db = ["--db", server!.url]
      const before = (await runtime.runPromise(emulator.stats)).jobsStarted

      const workerArgs = ["batch", "worker", "--out", out, "--concurrency", "200", ...db]
      const env = { QOERY_STATE_DIR: state, QOERY_BASE_URL: emulator.baseUrl, QOERY_API_KEY: key }
      const workers = [0, 1, 2].map(() => Cli.start(workerArgs, env))
      try {
        await Promise.all(workers.map((w) => w.waitForStderr("qoery batch worker: runner at")))
        const submitted = await Cli.run(["batch", "run", "--from", list, "--out", out, "--submit-only", ...db], {
          QOERY_STATE_DIR: state
        })
        expect(submitted.stderr).toContain("Submitted 200 searches")
        expect(submitted.code).toBe(0)

        const all = () => workers.map((w) => w.stderr()).join("\n")
        const distinct = (s: "started" | "completed") => new Set(linesOf(all(), s).map((l) => l.search)).size
        // Every search started, some done, most still running: then one worker dies.
        await until(
          () => distinct("started") === 200 && distinct("completed") >= 1,
          240_000,
          () =>
            `200 started (${distinct("started")}), 1 completed:\n${
              workers.map((w) => w.stderr().slice(-2000)).join("\n---\n")
            }`
        )
        const victim = workers[0]!
        expect(linesOf(victim.stderr(), "started").length).toBeGreaterThan(0)
        victim.kill("SIGKILL")
        expect((await victim.done).signal).toBe("SIGKILL")
        expect(distinct("completed")).toBeLessThan(200)

        await until(() => distinct("completed") === 200, 300_000, () => `200 completed (${distinct("completed")})`)
        // Each of the 200 distinct searches was started on the API exactly once.
        expect((await runtime.runPromise(emulator.stats)).jobsStarted - before).toBe(200)
        // The survivors completed the jobs the victim had started, without starting them again.
        const survivors = workers.slice(1).map((w) => w.stderr()).join("\n")
        const victimStarted = new Set(linesOf(victim.stderr(), "started").map((l) => l.search))
        const victimDone = new Set(linesOf(victim.stderr(), "completed").map((l) => l.search))
        const takenOver = [...victimStarted].filter((s) => !victimDone.has(s))
        expect(takenOver.length).toBeGreaterThan(0)
        const survivorDone = new Map(linesOf(survivors, "completed").map((l) => [l.search, l.jobId]))
        const victimJob = new Map(linesOf(victim.stderr(), "started").map((l) => [l.search, l.jobId]))
        for (const search of takenOver) expect(survivorDone.get(search)).toBe(victimJob.get(search))

        const files = fs.readdirSync(out).filter((f) => f.endsWith(".csv"))
        expect(files).toHaveLength(200)
        for (const file of files) {
          const jobId = /(\d{8}_\d{6})\.csv$/.exec(file)![1]!
          const expected = Option.getOrThrow(await runtime.runPromise(emulator.expectedCsv(jobId)))
          expect(fs.readFileSync(path.join(out, file), "utf8")).toBe(expected)
        }

        const status = await Cli.run(["batch", "status", "--json", ...db], { QOERY_STATE_DIR: state })
        const rows = status.stdout.trim().split("\n").map((l) => JSON.parse(l))
        expect(rows.filter((r) => r.state === "completed")).toHaveLength(200)
      } finally {
        for (const w of workers) w.kill("SIGKILL")
        await Promise.all(workers.map((w) => w.done))
      }
    })

    it("processes that start together on a new database create its tables one at a time: none fails", async () => {
      // Postgres makes concurrent CREATE TABLE IF NOT EXISTS of one table race (a duplicate key in pg_type): ten
      // sessions making the ledger at once on a new database, each under the schema lock as `withEngine` does.
      const fresh = `qoery_fresh_${process.pid}_${Date.now()}`
      const admin = PgClient.layer({ url: Redacted.make(server!.url) })
      await Effect.runPromise(
        Effect.scoped(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE DATABASE ${fresh}`))).pipe(
          Effect.provide(admin)
        )
      )
      const url = new URL(server!.url)
      url.pathname = `/${fresh}`
      const database = Either.getOrThrow(BatchDatabase.parse(url.toString(), "unused.db"))
      const session = Effect.scoped(Effect.gen(function*() {
        const release = yield* BatchDatabase.holdSchemaLock(database)
        yield* Ledger.make
        yield* release
      })).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url.toString()) })))
      const exits = await Effect.runPromise(
        Effect.all(Array.from({ length: 10 }, () => Effect.exit(session)), { concurrency: "unbounded" })
      )
      for (const exit of exits) expect(Exit.isSuccess(exit), String(exit)).toBe(true)
    })
  })
}
