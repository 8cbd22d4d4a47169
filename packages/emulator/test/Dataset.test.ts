/**
 * The synthetic data: deterministic, RFC 4180, hard titles included.
 */
import { Dataset } from "@effect-qoery/emulator"
import { assert, describe, it } from "@effect/vitest"
import { records } from "../../../test/support/loopback.js"

describe("Dataset", () => {
  it("is a deterministic function of the query", () => {
    const q = "climate change statistics"
    assert.strictEqual(Dataset.csv(q, 1_000), Dataset.csv(q, 1_000))
    assert.deepStrictEqual(Dataset.urls(q), Dataset.urls(q))
    assert.notStrictEqual(Dataset.csv(q, 1_000), Dataset.csv("ocean temperatures", 1_000))
  })

  it("writes RFC 4180 CSV that a standard parser reads back to the same rows, including hard titles", () => {
    const all = ["climate change statistics", "population", "Émissions", "a", "energy prices europe"].flatMap((q) => {
      const rows = Dataset.rows(q)
      const text = Dataset.csv(q, rows.length)
      const parsed = records(text)
      assert.deepStrictEqual(parsed[0], ["url", "title", "value", "dimension", "timestamp"])
      assert.deepStrictEqual(parsed.slice(1), rows.map((r) => [r.url, r.title, r.value, r.dimension, r.timestamp]))
      assert.isTrue(text.split("\r\n").every((line, i, lines) => i === lines.length - 1 || !line.endsWith("\r")))
      assert.isTrue(text.endsWith("\r\n"))
      return rows
    })
    const titles = all.map((r) => r.title)
    assert.isTrue(titles.some((t) => t.includes(",")), "a title with a comma")
    assert.isTrue(titles.some((t) => t.includes("\"")), "a title with a double quote")
    assert.isTrue(titles.some((t) => t.includes("\n")), "a title with a line break")
    assert.isTrue(titles.includes("Émissions de CO₂ – Zürich"), "non-ASCII text")
    for (const row of all) assert.doesNotThrow(() => new URL(row.url))
  })

  it("gives the first rows of the full CSV for a partial count", () => {
    const q = "partial"
    const full = Dataset.csv(q, Dataset.rows(q).length)
    assert.isTrue(full.startsWith(Dataset.csv(q, 3)))
    assert.strictEqual(records(Dataset.csv(q, 3)).length, 4)
    assert.strictEqual(Dataset.csv(q, 0), Dataset.header)
  })
})
