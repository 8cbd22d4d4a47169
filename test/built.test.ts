/**
 * The packages as they are published: built to dist/ by `pnpm build`, run
 * with plain node (no "source" condition, no tsx), resolved through their
 * exports maps; then packed with `pnpm pack` and installed with npm into a
 * project of their own, as a consumer gets them from the registry (npm
 * fetches effect and the @effect/* peers, so this needs the registry the
 * machine is set up with).
 */
import { JobStatus } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ManagedRuntime, Schema } from "effect"
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { promisify } from "node:util"
import { childEnv, root } from "./support/cli.js"

const run = promisify(execFile)
// npm_config_yes: npx installs pnpm without asking (there is no terminal to answer here)
const withYes = { ...process.env, npm_config_yes: "true" }
const key = "built-bin-secret-key"
const runtime = ManagedRuntime.make(Emulator.layer({ apiKeys: [key], jobDuration: "600 millis" }))
let baseUrl = ""

beforeAll(async () => {
  await run("npx", ["pnpm@10", "run", "build"], { cwd: root, env: withYes })
  baseUrl = (await runtime.runPromise(Emulator.Emulator)).baseUrl
}, 600_000)
afterAll(() => runtime.dispose())

describe("the built packages", () => {
  it("qoery run: NDJSON statuses in the wire format, the CSV on disk, exit 0", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qoery-built-"))
    const out = path.join(dir, "data.csv")
    const { stdout, stderr } = await run(
      process.execPath,
      ["packages/cli/bin/qoery.js", "run", "ocean temperature", "--json", "--out", out, "--base-url", baseUrl],
      { cwd: root, env: childEnv({ QOERY_API_KEY: key, QOERY_STATE_DIR: dir }) }
    )
    const statuses = stdout.trim().split("\n").map((line) =>
      Schema.decodeUnknownSync(JobStatus.JobStatus)(JSON.parse(line))
    )
    assert.strictEqual(statuses.at(-1)?.status, "completed")
    const rows = fs.readFileSync(out, "utf8").trimEnd().split("\r\n")
    assert.strictEqual(rows[0], "url,title,value,dimension,timestamp")
    assert.notInclude(stdout + stderr, key)
  })

  it("qoery-emulator prints its URL first and serves until SIGTERM", async () => {
    const child = spawn(process.execPath, ["packages/emulator/bin/qoery-emulator.js", "--port", "0", "--quiet"], {
      cwd: root,
      env: childEnv({})
    })
    const url = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once("line", resolve))
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const health = await fetch(`${url}/health`).then((r) => r.json() as Promise<{ status: string }>)
    assert.strictEqual(health.status, "ok")
    const code = await new Promise<number | null>((resolve) => {
      child.once("close", resolve)
      child.kill("SIGTERM")
    })
    assert.strictEqual(code, 0)
  })

  it("@effect-qoery/client and /promise import from dist; internal modules are closed", async () => {
    const script = `
      import { JobId, QoeryClient } from "@effect-qoery/client"
      import { createClient } from "@effect-qoery/client/promise"
      const q = createClient({ apiKey: ${JSON.stringify(key)}, baseUrl: ${JSON.stringify(baseUrl)} })
      const { jobId } = await q.startJob("from dist")
      await q.close()
      let closed = false
      try { await import("@effect-qoery/client/internal/timestamp") } catch { closed = true }
      console.log(JSON.stringify({ valid: JobId.is(jobId), layer: typeof QoeryClient.layer, closed }))
    `
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: path.join(root, "test"),
      env: childEnv({})
    })
    assert.deepStrictEqual(JSON.parse(stdout), { valid: true, layer: "function", closed: true })
  })
})

/** Every installed copy of the package `name` under `dir`'s node_modules, nested ones included. */
const copiesOf = (dir: string, name: string): Array<string> => {
  const modules = path.join(dir, "node_modules")
  if (!fs.existsSync(modules)) return []
  const packages = fs.readdirSync(modules).flatMap((entry) =>
    entry.startsWith("@")
      ? fs.readdirSync(path.join(modules, entry)).map((sub) => `${entry}/${sub}`)
      : entry.startsWith(".")
      ? []
      : [entry]
  )
  return packages.flatMap((pkg) => [
    ...(pkg === name ? [path.join(modules, pkg)] : []),
    ...copiesOf(path.join(modules, pkg), name)
  ])
}

/** A program of a consumer: every entry point, with types that are wrong if a declaration is missing. */
const typedProgram = `
import { DatasetCsv, JobId, JobStatus, JobWatcher, QoeryClient, QoeryError } from "@effect-qoery/client"
import { type Client, createClient } from "@effect-qoery/client/promise"
import { Cli } from "@effect-qoery/cli"
import { Emulator } from "@effect-qoery/emulator"
import { NodeHttpClient } from "@effect/platform-node"
import { Chunk, Effect, Layer, Stream } from "effect"

export const program: Effect.Effect<number, unknown, never> = Effect.gen(function*() {
  const emulator = yield* Emulator.Emulator
  const client = yield* QoeryClient.QoeryClient
  const started = yield* client.startJob("typed")
  const done: JobStatus.Completed = yield* JobWatcher.awaitCompletion(started.jobId)
  const rows = yield* Stream.runCollect(DatasetCsv.rows(done.jobId))
  yield* Effect.log(emulator.baseUrl)
  return Chunk.size(rows)
}).pipe(
  Effect.provide(
    Layer.unwrapEffect(
      Effect.map(Emulator.Emulator, (e) => QoeryClient.layer({ apiKey: Emulator.demoApiKey, baseUrl: e.baseUrl }))
    ).pipe(Layer.provideMerge(Emulator.layer({})), Layer.provide(NodeHttpClient.layerUndici))
  )
)

// @ts-expect-error a plain string is not a JobId
export const notAnId: JobId.JobId = "20251110_151628"
export const promiseClient: Client = createClient({ apiKey: Emulator.demoApiKey })
export const transient: (error: QoeryError.QoeryError) => boolean = QoeryError.isTransient
export const cli: object = Cli
`

const tsconfig = (module: string, moduleResolution: string) =>
  JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module,
      moduleResolution,
      strict: true,
      noEmit: true,
      // as most projects do; a declaration of ours that is missing or wrong still shows in main.ts
      skipLibCheck: true,
      types: ["node"]
    },
    files: ["main.ts"]
  })

// Generous timeouts: npm, tsc and the bins run on a machine that may be busy.
describe("the packed packages, installed with npm into a project of their own", { timeout: 180_000 }, () => {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), "qoery-packed-"))
  const bin = (name: string) => path.join(project, "node_modules", ".bin", name)

  beforeAll(async () => {
    const tarballs = path.join(project, "tarballs")
    // every package of the workspace: the cli depends on the others
    const packages = fs.readdirSync(path.join(root, "packages")).filter((pkg) =>
      fs.existsSync(path.join(root, "packages", pkg, "package.json"))
    )
    for (const pkg of packages) {
      await run("npx", ["pnpm@10", "pack", "--pack-destination", tarballs], {
        cwd: path.join(root, "packages", pkg),
        env: withYes
      })
    }
    fs.writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" })
    )
    await run("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      // no install scripts: better-sqlite3 (under the workflow package's SQLite engine, which the workspace tests)
      // would compile SQLite from source where its prebuilt binary cannot be downloaded, for minutes
      "--ignore-scripts",
      ...fs.readdirSync(tarballs).map((file) => `./tarballs/${file}`),
      "typescript@5.9.3",
      "@types/node@20.19.43"
    ], { cwd: project })
  }, 600_000)
  // node_modules holds many files; on a busy machine removing them takes longer than the default hook timeout
  afterAll(() => fs.promises.rm(project, { recursive: true, force: true }), 300_000)

  it("installs one copy of effect and of @effect/platform, shared by the three packages", () => {
    assert.deepStrictEqual(copiesOf(project, "effect"), [path.join(project, "node_modules", "effect")])
    assert.strictEqual(copiesOf(project, "@effect/platform").length, 1)
    const packed = JSON.parse(
      fs.readFileSync(path.join(project, "node_modules/@effect-qoery/cli/package.json"), "utf8")
    )
    assert.strictEqual(packed.dependencies["@effect-qoery/client"], "^0.1.0")
    assert.include(packed.peerDependencies.effect, "<4.0.0")
  })

  it("an ESM script runs a job on the Promise API against the packed emulator", async () => {
    fs.writeFileSync(
      path.join(project, "promise.mjs"),
      `
      import { createClient } from "@effect-qoery/client/promise"
      import { Emulator } from "@effect-qoery/emulator"
      import { ManagedRuntime } from "effect"
      const emulator = ManagedRuntime.make(Emulator.layer({ jobDuration: "500 millis" }))
      const { baseUrl } = await emulator.runPromise(Emulator.Emulator)
      const qoery = createClient({ apiKey: Emulator.demoApiKey, baseUrl })
      const { jobId } = await qoery.startJob("packed ocean temperature")
      const done = await qoery.waitFor(jobId, { interval: "100 millis" })
      let rows = 0
      for await (const row of qoery.rows(jobId)) if (typeof row.title === "string") rows++
      await qoery.close()
      await emulator.dispose()
      console.log(JSON.stringify({ status: done.status, rows, collected: done.progress.rowsCollected }))
    `
    )
    const { stdout } = await run(process.execPath, ["promise.mjs"], { cwd: project, env: childEnv({}) })
    const result = JSON.parse(stdout)
    assert.strictEqual(result.status, "completed")
    assert.isAbove(result.rows, 0)
    assert.strictEqual(result.rows, result.collected)
  })

  it("CommonJS loads the packages with require(esm) (Node 20.19 and later)", async () => {
    const script = `
      const { JobId } = require("@effect-qoery/client")
      const { createClient } = require("@effect-qoery/client/promise")
      const { Emulator } = require("@effect-qoery/emulator")
      console.log(JSON.stringify([JobId.is("20251110_151628"), typeof createClient, Emulator.demoApiKey]))
    `
    fs.writeFileSync(path.join(project, "require.cjs"), script)
    const { stdout } = await run(process.execPath, ["require.cjs"], { cwd: project, env: childEnv({}) })
    assert.deepStrictEqual(JSON.parse(stdout), [true, "function", "qoery-demo-key"])
  })

  for (const [module, moduleResolution] of [["nodenext", "nodenext"], ["esnext", "bundler"]] as const) {
    it(`a TypeScript program type-checks under moduleResolution ${moduleResolution}`, async () => {
      fs.writeFileSync(path.join(project, "main.ts"), typedProgram)
      fs.writeFileSync(path.join(project, `tsconfig.${moduleResolution}.json`), tsconfig(module, moduleResolution))
      const checked = await run(process.execPath, [
        path.join(project, "node_modules/typescript/bin/tsc"),
        "-p",
        `tsconfig.${moduleResolution}.json`
      ], { cwd: project }).then(() => "", (error: { stdout: string }) => error.stdout)
      assert.strictEqual(checked, "")
    })
  }

  it("the qoery and qoery-emulator bins: --help, and qoery run against the packed emulator", async () => {
    const help = await run(bin("qoery"), ["--help"], { cwd: project, env: childEnv({ NO_COLOR: "1" }) })
    assert.match(help.stdout, /^qoery <command>/)
    assert.match(help.stdout, /^ {2}run <search> /m)
    const emulatorHelp = await run(bin("qoery-emulator"), ["--help"], { cwd: project, env: childEnv({}) })
    assert.include(emulatorHelp.stdout + emulatorHelp.stderr, "usage: qoery-emulator")

    const emulator = spawn(bin("qoery-emulator"), ["--port", "0", "--quiet", "--job-duration", "500ms"], {
      cwd: project,
      env: childEnv({})
    })
    try {
      const url = await new Promise<string>((resolve) =>
        createInterface({ input: emulator.stdout }).once("line", resolve)
      )
      const out = path.join(project, "run.csv")
      await run(bin("qoery"), ["run", "packed run", "--out", out, "--base-url", url, "--api-key", "qoery-demo-key"], {
        cwd: project,
        env: childEnv({ QOERY_STATE_DIR: path.join(project, "state") })
      })
      assert.strictEqual(fs.readFileSync(out, "utf8").split("\r\n")[0], "url,title,value,dimension,timestamp")
    } finally {
      emulator.kill("SIGTERM")
    }
  })
})
