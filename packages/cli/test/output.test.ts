import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration } from "effect"
import { decodedStatus } from "../../../test/support/statuses.js"
import * as Output from "../src/internal/output.js"

const status = (progress: { rows: number; urls: number; total: number }, state = "processing") =>
  decodedStatus({
    status: state,
    progress: { rows_collected: progress.rows, urls_processed: progress.urls, urls_total: progress.total }
  })

const elapsed = Duration.seconds(83)

describe("the live line", () => {
  it("on a wide terminal: step, a bar of 20, counts and time", () => {
    const line = Output.liveText(status({ rows: 1234, urls: 7, total: 12 }), elapsed, 0, 0, 99)
    assert.match(line, /^. scraping +\[[█░]{20}\] 7\/12 urls {2}1234 rows {2}1:23$/)
  })

  it("at 40 columns the bar goes first: step, counts and time stay whole", () => {
    for (const columns of [39, 45, 50, 60]) {
      const line = Output.liveText(status({ rows: 1234, urls: 7, total: 12 }), elapsed, 0, 2, columns)
      assert.isAtMost(line.length, columns, line)
      assert.include(line, "scraping")
      assert.include(line, "7/12 urls")
      assert.include(line, "1234 rows")
      assert.include(line, "1:23")
    }
    const narrow = Output.liveText(status({ rows: 1234, urls: 7, total: 12 }), elapsed, 0, 0, 39)
    assert.notInclude(narrow, "[")
  })

  it("between, the bar shrinks rather than the counts", () => {
    const line = Output.liveText(status({ rows: 5, urls: 6, total: 12 }), elapsed, 0, 0, 50)
    const bar = /\[([█░]+)\]/.exec(line)
    assert.isNotNull(bar)
    assert.isBelow(bar![1]!.length, 20)
    assert.isAtLeast(bar![1]!.length, 5)
    assert.match(line, /6\/12 urls {2}5 rows {2}1:23$/)
  })

  it("a plain line per change on a pipe", () => {
    assert.strictEqual(
      Output.plainText(status({ rows: 1, urls: 1, total: 3 }), Duration.millis(4200)),
      "20251110_151628 scraping: 1/3 urls, 1 row, 4.2s"
    )
  })

  it("a step the client does not know is shown as it came, on both lines", () => {
    const uploading = decodedStatus({ progress: { current_step: "uploading", urls_processed: 7, urls_total: 12 } })
    assert.match(Output.liveText(uploading, elapsed, 0, 0, 99), /^. uploading +\[[█░]{20}\] 7\/12 urls/)
    assert.include(Output.liveText(uploading, elapsed, 0, 0, 39), "uploading")
    assert.strictEqual(
      Output.plainText(uploading, Duration.millis(4200)),
      "20251110_151628 uploading: 7/12 urls, 1250 rows, 4.2s"
    )
  })
})

describe("a retry", () => {
  const now = DateTime.unsafeMake("2025-11-10T12:00:00Z")
  const error = { message: "ServerError: 503 Service Unavailable" }

  it("a short one: when, in how long", () => {
    assert.strictEqual(
      Output.retryText({ jobId: "20251110_151628", error, attempt: 2, delay: Duration.millis(1200) }, now),
      "20251110_151628: ServerError: 503 Service Unavailable; retry 2 in 1.2s"
    )
  })

  it("a long one (a server's Retry-After): how long, and the time it will retry, for the CSV too", () => {
    assert.strictEqual(
      Output.retryText(
        { jobId: "20251110_151628", error, attempt: 1, delay: Duration.seconds(60), operation: "csv" },
        now
      ),
      "20251110_151628 (CSV download): ServerError: 503 Service Unavailable; waiting 1m 0s, retrying at 12:01:00 UTC"
    )
  })
})

describe("printable", () => {
  it("shows a server's control characters as \\xHH, keeps tabs, line feeds and other text", () => {
    assert.strictEqual(
      Output.printable("boom\x1b[2J\x1b]0;pwned\x07\rover\x9b1m"),
      "boom\\x1b[2J\\x1b]0;pwned\\x07\\x0dover\\x9b1m"
    )
    assert.strictEqual(Output.printable("a\tb\nc ✔ café"), "a\tb\nc ✔ café")
    // the same on every call (no state kept between two lines)
    assert.strictEqual(Output.printable("\x1b"), "\\x1b")
    assert.strictEqual(Output.printable("\x1b"), "\\x1b")
  })
})
