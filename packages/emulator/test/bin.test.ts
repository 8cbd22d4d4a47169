/**
 * The `qoery-emulator` command, run as a process from its source.
 */
import { Emulator } from "@effect-qoery/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as net from "node:net"
import * as path from "node:path"
import { createInterface } from "node:readline"

const key = Emulator.demoApiKey
const root = path.resolve(import.meta.dirname, "../../..")

const run = (args: ReadonlyArray<string>) => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=source", "packages/emulator/src/bin.ts", ...args],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] }
  )
  let stderr = ""
  let stdout = ""
  child.stderr.on("data", (d) => stderr += String(d))
  child.stdout.on("data", (d) => stdout += String(d))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, exited, stderr: () => stderr, stdout: () => stdout }
}

describe("bin", () => {
  it.live("prints its URL first, serves, logs to stderr, and exits 0 on SIGTERM", () =>
    Effect.promise(async () => {
      const { child, exited, stderr } = run(["--port", "0", "--job-duration", "1s"])
      try {
        const first = await new Promise<string>((resolve, reject) => {
          const lines = createInterface({ input: child.stdout })
          lines.once("line", resolve)
          child.once("exit", () => reject(new Error(`the bin exited early: ${stderr()}`)))
        })
        assert.match(first, /^http:\/\/127\.0\.0\.1:\d+$/)
        const health = await fetch(`${first}/health`)
        assert.strictEqual(health.status, 200)
        const started = await fetch(`${first}/v0/datasets?search=bin&api_key=${key}`)
        assert.strictEqual(started.status, 200)
        child.kill("SIGTERM")
        assert.strictEqual(await exited, 0)
        assert.match(stderr(), /GET \/health 200/)
        assert.notInclude(stderr(), key)
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL")
      }
    }), 30_000)

  it.live("a port in use: says so in one line and exits 2, no stack", () =>
    Effect.promise(async () => {
      const blocker = net.createServer()
      const port = await new Promise<number>((resolve) =>
        blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as net.AddressInfo).port))
      )
      const { child, exited, stderr, stdout } = run(["--port", String(port)])
      try {
        assert.strictEqual(await exited, 2)
        assert.strictEqual(stdout(), "")
        assert.strictEqual(
          stderr(),
          `qoery-emulator: port ${port} is in use on 127.0.0.1; stop what listens there or choose another with --port` +
            ` (--port 0 picks a free one)\n`
        )
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL")
        blocker.close()
      }
    }), 30_000)
})
