/**
 * The packages as they are published: built to dist/ by `pnpm build`, run
 * with plain node (no "source" condition, no tsx), resolved through their
 * exports maps.
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
const key = "built-bin-secret-key"
const runtime = ManagedRuntime.make(Emulator.layer({ apiKeys: [key], jobDuration: "600 millis" }))
let baseUrl = ""

beforeAll(async () => {
  // npm_config_yes: npx installs pnpm without asking (there is no terminal to answer here)
  await run("npx", ["pnpm@10", "run", "build"], { cwd: root, env: { ...process.env, npm_config_yes: "true" } })
  baseUrl = (await runtime.runPromise(Emulator.Emulator)).baseUrl
}, 180_000)
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
