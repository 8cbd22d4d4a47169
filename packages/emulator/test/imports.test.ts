/**
 * The server loads the client's model, not the client: no HTTP client,
 * watcher or CSV module in the module graph of the emulator.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "../../..")

/** A loader hook that prints each module of the workspace's packages as it is loaded. */
const hook = `export async function load(url, context, next) {
  if (url.includes("/packages/")) process.stderr.write("LOADED " + url + "\\n")
  return next(url, context)
}`
const register = `import { register } from "node:module"
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hook)}))`

describe("the emulator's imports", () => {
  it("take the client's JobId, JobStatus and Payloads by subpath, and nothing else of it", () => {
    const run = spawnSync(
      process.execPath,
      [
        "--conditions=source",
        "--import",
        `data:text/javascript,${encodeURIComponent(register)}`,
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        "await import(\"@effect-qoery/emulator\")"
      ],
      { cwd: path.join(root, "packages/emulator"), encoding: "utf8" }
    )
    assert.strictEqual(run.status, 0, run.stderr)
    const loaded = [...run.stderr.matchAll(/^LOADED .*\/packages\/(.*)$/gm)].map((m) => m[1]!)
    assert.include(loaded, "emulator/src/internal/app.ts", "the hook sees the emulator's modules")
    const client = [...new Set(loaded.filter((file) => file.startsWith("client/")))].sort()
    assert.deepStrictEqual(
      client.filter((file) => !file.startsWith("client/src/internal/")),
      ["client/src/JobId.ts", "client/src/JobStatus.ts", "client/src/Payloads.ts"]
    )
  })
})
