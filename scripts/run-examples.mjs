#!/usr/bin/env node
// Runs every examples/*.ts in turn (on the package sources, through tsx), each
// with a time limit, and exits 1 if any of them fails or runs over.
//
//   node scripts/run-examples.mjs [name-filter]
//   EXAMPLE_TIMEOUT_MS=120000 node scripts/run-examples.mjs
/* global setTimeout, clearTimeout */
import { spawn } from "node:child_process"
import { readdirSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const timeoutMs = Number(process.env.EXAMPLE_TIMEOUT_MS ?? 90_000)
const filter = process.argv[2]
const examples = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && (filter === undefined || f.includes(filter)))
  .sort()

const runOne = (file) =>
  new Promise((done) => {
    const started = Date.now()
    const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", join("examples", file)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (d) => output += d)
    child.stderr.on("data", (d) => output += d)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGTERM")
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref()
    }, timeoutMs)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      const ok = code === 0 && !timedOut
      const why = timedOut ? `timed out after ${timeoutMs / 1000}s` : signal ? `killed by ${signal}` : `exit ${code}`
      console.log(`${ok ? "ok  " : "FAIL"} ${file} (${seconds}s${ok ? "" : `, ${why}`})`)
      if (!ok) console.log(output.replace(/^/gm, "     | "))
      done(ok)
    })
  })

if (examples.length === 0) {
  console.error("no examples found")
  process.exit(1)
}
let failed = 0
for (const file of examples) if (!(await runOne(file))) failed++
console.log(
  `examples: ${examples.length - failed} of ${examples.length} ran clean${failed === 0 ? "" : `, ${failed} did not`}`
)
process.exit(failed === 0 ? 0 : 1)
