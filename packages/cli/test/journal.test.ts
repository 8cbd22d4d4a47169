/**
 * The journal on a real file system: torn lines, invalid entries, appends
 * racing a compaction, and the lock one `qoery resume` holds.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "../../../test/support/tmp.js"
import * as Journal from "../src/internal/journal.js"

const inFolder = (dir: string) =>
  Layer.merge(NodeContext.layer, Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["QOERY_STATE_DIR", dir]]))))

const folder = () => tempDir("journal")
const file = (dir: string) => path.join(dir, "jobs.ndjson")

const started = (jobId: string, baseUrl = "http://127.0.0.1:1") => ({
  jobId,
  search: `search ${jobId}`,
  baseUrl,
  out: `/tmp/${jobId}.csv`
})

const line = (entry: object) => JSON.stringify({ type: "started", startedAt: "2025-11-10T15:16:28.000Z", ...entry })

describe("Journal.parse", () => {
  it("keeps the entry an older version appended to a torn line, and says the line was torn", () => {
    const torn = `{"type":"started","jobId":"20251110_15` + line(started("20251110_151628"))
    const contents = Journal.parse(torn + "\n", "jobs.ndjson")
    assert.deepStrictEqual(contents.pending.map((e) => e.jobId), ["20251110_151628"])
    assert.strictEqual(contents.warnings.length, 1)
    assert.include(contents.warnings[0], "line 1 of jobs.ndjson")
    assert.include(contents.warnings[0], "torn")
  })

  it("skips a torn line and an entry with an invalid job id, each with a warning, and keeps the rest", () => {
    const text = [
      line(started("../../etc/passwd")),
      line(started("20251110_151628")),
      `{"type":"ended","jobId":"2025`,
      line(started("20251110_151629"))
    ].join("\n")
    const contents = Journal.parse(text, "j")
    assert.deepStrictEqual(contents.pending.map((e) => e.jobId), ["20251110_151628", "20251110_151629"])
    assert.strictEqual(contents.warnings.length, 2)
    assert.include(contents.warnings[0], "line 1 of j names an invalid job id \"../../etc/passwd\"")
    assert.include(contents.warnings[1], "line 3 of j")
  })

  it("an ended entry ends the started one of the same job on the same base URL only", () => {
    const text = [
      line(started("20251110_151628", "http://127.0.0.1:1")),
      line(started("20251110_151628", "http://127.0.0.1:2")),
      JSON.stringify({
        type: "ended",
        jobId: "20251110_151628",
        baseUrl: "http://127.0.0.1:1",
        outcome: "completed",
        endedAt: "2025-11-10T15:20:00.000Z"
      })
    ].join("\n") + "\n"
    const contents = Journal.parse(text)
    assert.deepStrictEqual(contents.pending.map((e) => e.baseUrl), ["http://127.0.0.1:2"])
    assert.deepStrictEqual(contents.warnings, [])
  })
})

describe("Journal on disk", () => {
  it.effect("an append after a torn last line starts on a fresh line, and both survive a read", () => {
    const dir = folder()
    fs.writeFileSync(file(dir), line(started("20251110_151628")) + "\n" + `{"type":"started","jobId":"2025`)
    return Effect.gen(function*() {
      yield* Journal.started(started("20251110_151629"))
      const lines = fs.readFileSync(file(dir), "utf8").split("\n")
      assert.strictEqual(lines[1], `{"type":"started","jobId":"2025`)
      assert.strictEqual(JSON.parse(lines[2]).jobId, "20251110_151629")
      const contents = yield* Journal.read
      assert.deepStrictEqual(contents.pending.map((e) => e.jobId), ["20251110_151628", "20251110_151629"])
      assert.strictEqual(contents.warnings.length, 1)
    }).pipe(Effect.provide(inFolder(dir)))
  })

  it.effect("compaction drops ended entries and torn lines, and keeps what is pending", () => {
    const dir = folder()
    return Effect.gen(function*() {
      yield* Journal.started(started("20251110_151628"))
      yield* Journal.started(started("20251110_151629"))
      yield* Journal.ended({ jobId: "20251110_151628", baseUrl: "http://127.0.0.1:1", outcome: "completed" })
      fs.appendFileSync(file(dir), `{"type":"sta`)
      yield* Journal.compact
      const lines = fs.readFileSync(file(dir), "utf8").split("\n")
      assert.deepStrictEqual(lines.slice(-1), [""])
      assert.deepStrictEqual(lines.slice(0, -1).map((l) => JSON.parse(l).jobId), ["20251110_151629"])
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["jobs.ndjson"])
    }).pipe(Effect.provide(inFolder(dir)))
  })

  it.effect("appends racing compactions lose no entry", () => {
    const dir = folder()
    const ids = Array.from({ length: 60 }, (_, i) => `20251110_1516${String(i).padStart(2, "0")}`)
    return Effect.gen(function*() {
      const appending = yield* Effect.forEach(ids, (id) => Journal.started(started(id)), { discard: true }).pipe(
        Effect.fork
      )
      // Compact over and over while the appends go on, as a `resume` would next to several `run`s.
      let compactions = 0
      while (appending.unsafePoll() === null) {
        yield* Journal.compact
        compactions++
      }
      yield* Fiber.join(appending)
      const contents = yield* Journal.read
      assert.isAbove(compactions, 5)
      assert.deepStrictEqual(contents.pending.map((e) => e.jobId).sort(), ids)
      assert.deepStrictEqual(contents.warnings, [])
    }).pipe(Effect.provide(inFolder(dir)))
  })

  it.effect("check fails with JournalError when the folder cannot be created, and succeeds on a fresh folder", () => {
    const dir = folder()
    fs.writeFileSync(path.join(dir, "a-file"), "")
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Journal.check.pipe(Effect.provide(inFolder(path.join(dir, "a-file", "state")))))
      assert.strictEqual(error._tag, "JournalError")
      assert.include(error.message, path.join(dir, "a-file", "state", "jobs.ndjson"))
      yield* Journal.check.pipe(Effect.provide(inFolder(path.join(dir, "fresh"))))
      assert.isTrue(fs.existsSync(path.join(dir, "fresh", "jobs.ndjson")))
    }).pipe(Effect.provide(NodeContext.layer))
  })

  it.effect("hold: a second holder fails with JournalLocked naming this process; it is free again after", () => {
    const dir = folder()
    return Effect.gen(function*() {
      const second = yield* Effect.scoped(Effect.gen(function*() {
        yield* Journal.hold(() => Effect.void)
        return yield* Effect.flip(Effect.scoped(Journal.hold(() => Effect.void)))
      }))
      assert.strictEqual(second._tag, "JournalLocked")
      assert.strictEqual(second._tag === "JournalLocked" ? second.pid : undefined, process.pid)
      yield* Effect.scoped(Journal.hold(() => Effect.void))
    }).pipe(Effect.provide(inFolder(dir)))
  })
})
