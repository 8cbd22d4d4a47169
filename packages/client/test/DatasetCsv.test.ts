import { DatasetCsv } from "@effect-qoery/client"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Schema, Stream } from "effect"

const encoder = new TextEncoder()

/** The input as a stream of byte chunks of `size` bytes (0: one chunk). */
const bytes = (input: string | Uint8Array, size: number): Stream.Stream<Uint8Array> => {
  const all = typeof input === "string" ? encoder.encode(input) : input
  if (size === 0) return Stream.make(all)
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < all.length; i += size) chunks.push(all.subarray(i, i + size))
  return Stream.fromIterable(chunks)
}

const chunkings = [1, 7, 0] as const
const label = (size: number) => size === 0 ? "whole" : `${size}-byte chunks`

const collect = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.map(Stream.runCollect(stream), (c) => Chunk.toReadonlyArray(c))

/** Records and what came before the error, if one. */
const run = (input: string | Uint8Array, size: number, options?: DatasetCsv.ParseOptions) =>
  Effect.gen(function*() {
    const seen: Array<Record<string, string>> = []
    const result = yield* bytes(input, size).pipe(
      DatasetCsv.parse(options),
      Stream.tap((r) => Effect.sync(() => seen.push(r))),
      Stream.runDrain,
      Effect.either
    )
    return {
      records: seen.map((r) => ({ ...r })),
      error: Either.isLeft(result) ? result.left : undefined
    }
  })

interface Case {
  readonly name: string
  readonly input: string
  readonly records: ReadonlyArray<Record<string, string>>
  /** The physical line after the input: where a row appended to it starts. */
  readonly nextLine?: number
  readonly options?: DatasetCsv.ParseOptions
}

const cases: ReadonlyArray<Case> = [
  { name: "LF row ends", input: "a,b\n1,2\n3,4\n", records: [{ a: "1", b: "2" }, { a: "3", b: "4" }], nextLine: 4 },
  {
    name: "CRLF row ends",
    input: "a,b\r\n1,2\r\n3,4\r\n",
    records: [{ a: "1", b: "2" }, { a: "3", b: "4" }],
    nextLine: 4
  },
  {
    name: "mixed LF and CRLF row ends",
    input: "a,b\r\n1,2\n3,4\r\n",
    records: [{ a: "1", b: "2" }, { a: "3", b: "4" }],
    nextLine: 4
  },
  {
    name: "a last row without a line end (LF)",
    input: "a,b\n1,2\n3,4",
    records: [{ a: "1", b: "2" }, { a: "3", b: "4" }]
  },
  {
    name: "a last row without a line end (CRLF)",
    input: "a,b\r\n1,2\r\n3,4",
    records: [{ a: "1", b: "2" }, { a: "3", b: "4" }]
  },
  { name: "a quoted last field without a line end", input: "a,b\n1,\"x\"", records: [{ a: "1", b: "x" }] },
  { name: "an empty file", input: "", records: [] },
  { name: "a header only", input: "a,b\r\n", records: [] },
  { name: "a header only without a line end", input: "a,b", records: [] },
  { name: "a UTF-8 BOM", input: "\uFEFFa,b\n1,2\n", records: [{ a: "1", b: "2" }] },
  { name: "a BOM only", input: "\uFEFF", records: [] },
  { name: "quoted fields with commas", input: "a,b\n\"x, y\",\",\"\n", records: [{ a: "x, y", b: "," }] },
  {
    name: "escaped quotes",
    input: "a,b,c\n\"say \"\"hi\"\"\",\"\"\"\"\"\",\"\"\"x\"\n",
    records: [{ a: "say \"hi\"", b: "\"\"", c: "\"x" }]
  },
  { name: "empty quoted fields", input: "a,b\n\"\",\"\"\n", records: [{ a: "", b: "" }] },
  { name: "empty unquoted fields", input: "a,b,c\n,,\n", records: [{ a: "", b: "", c: "" }] },
  { name: "a trailing comma at the end of the input", input: "a,b\n1,", records: [{ a: "1", b: "" }] },
  {
    name: "LF inside quotes",
    input: "a,b\n\"one\ntwo\",2\n3,4\n",
    records: [{ a: "one\ntwo", b: "2" }, { a: "3", b: "4" }],
    nextLine: 5
  },
  {
    name: "CRLF inside quotes",
    input: "a,b\r\n\"one\r\ntwo\r\n\",2\r\n3,4\r\n",
    records: [{ a: "one\r\ntwo\r\n", b: "2" }, { a: "3", b: "4" }],
    nextLine: 6
  },
  {
    name: "CR inside quotes",
    input: "a,b\n\"one\rtwo\",2\n3,4\n",
    records: [{ a: "one\rtwo", b: "2" }, { a: "3", b: "4" }],
    nextLine: 5
  },
  {
    name: "multi-byte UTF-8 (split by small chunks)",
    input: "名前,b\n\"héllo, 世界 😀\",ü\n",
    records: [{ "名前": "héllo, 世界 😀", b: "ü" }]
  },
  { name: "quoted header names", input: "\"a,1\",\"b\"\"\"\n1,2\n", records: [{ "a,1": "1", "b\"": "2" }] },
  {
    name: "blank lines are skipped",
    input: "a,b\n\n1,2\r\n\r\n3,4\n\n",
    records: [{ a: "1", b: "2" }, { a: "3", b: "4" }],
    nextLine: 7
  },
  { name: "a quote inside an unquoted field is kept", input: "a,b\nab\"c,2\n", records: [{ a: "ab\"c", b: "2" }] },
  { name: "spaces are kept", input: "a,b\n 1 , x \n", records: [{ a: " 1 ", b: " x " }] },
  {
    name: "ragged rows when allowed",
    input: "a,b\n1\n1,2,3\n",
    options: { allowRaggedRows: true },
    records: [{ a: "1" }, { a: "1", b: "2", _3: "3" }]
  }
]

interface ErrorCase {
  readonly name: string
  readonly input: string
  readonly line: number
  readonly message: RegExp
  /** Records emitted before the error. */
  readonly before: number
}

const errorCases: ReadonlyArray<ErrorCase> = [
  { name: "an unterminated quote", input: "a,b\n1,2\n3,\"abc\n", line: 3, message: /unterminated/, before: 1 },
  { name: "an unterminated quote at the start", input: "a,b\n\"abc", line: 2, message: /unterminated/, before: 0 },
  { name: "a row with too many fields", input: "a,b\n1,2\n1,2,3\n4,5\n", line: 3, message: /more fields/, before: 1 },
  { name: "a row with too few fields", input: "a,b\n1,2\n1\n", line: 3, message: /1 field where/, before: 1 },
  { name: "a short last row", input: "a,b\n1,2\n1", line: 3, message: /1 field where/, before: 1 },
  {
    name: "a ragged row after a quoted line break",
    input: "a,b\n\"x\r\ny\",2\n1\n",
    line: 4,
    message: /1 field where the header has 2/,
    before: 1
  },
  {
    name: "text after a closing quote",
    input: "a,b\n\"x\"y,2\n",
    line: 2,
    message: /after the closing quote/,
    before: 0
  },
  { name: "a duplicated column name", input: "a,a\n1,2\n", line: 1, message: /twice/, before: 0 }
]

describe("DatasetCsv.parse", () => {
  for (const size of chunkings) {
    describe(label(size), () => {
      for (const c of cases) {
        it.effect(c.name, () =>
          Effect.gen(function*() {
            const { error, records } = yield* run(c.input, size, c.options)
            assert.isUndefined(error, String(error))
            assert.deepStrictEqual(records, c.records.map((r) => ({ ...r })))
            if (c.nextLine !== undefined) {
              // Line counting: a short row appended to the input is reported on the line after it.
              const after = yield* run(`${c.input}x\n`, size)
              assert.strictEqual(after.error?.line, c.nextLine)
            }
          }))
      }
      for (const c of errorCases) {
        it.effect(`fails on ${c.name}, naming the line`, () =>
          Effect.gen(function*() {
            const { error, records } = yield* run(c.input, size)
            assert.instanceOf(error, DatasetCsv.CsvError)
            const csvError = error as DatasetCsv.CsvError
            assert.strictEqual(csvError.line, c.line)
            assert.match(csvError.message, new RegExp(`^CSV line ${c.line}\\b`))
            assert.match(csvError.message, c.message)
            assert.strictEqual(records.length, c.before)
          }))
      }
    })
  }

  it.effect("keeps a character split at every possible byte across chunks", () =>
    Effect.gen(function*() {
      const input = encoder.encode("t\n\"😀é世\"\n")
      for (let cut = 1; cut < input.length; cut++) {
        const stream = Stream.make(input.subarray(0, cut), input.subarray(cut))
        const records = yield* collect(DatasetCsv.parse(stream))
        assert.deepStrictEqual(records.map((r) => ({ ...r })), [{ t: "😀é世" }], `cut at ${cut}`)
      }
    }))

  it.effect("keeps a __proto__ column as an own key, leaving the prototype alone", () =>
    Effect.gen(function*() {
      const [record] = yield* collect(DatasetCsv.parse(bytes("__proto__,b\n1,2\n", 0)))
      assert.deepStrictEqual(Object.entries(record!), [["__proto__", "1"], ["b", "2"]])
      assert.strictEqual(Object.getPrototypeOf(record), Object.prototype)
    }))

  it.effect("has a data-first form", () =>
    Effect.gen(function*() {
      const records = yield* collect(DatasetCsv.parse(bytes("a\n1\n2", 0), { allowRaggedRows: false }))
      assert.deepStrictEqual(records.map((r) => r.a), ["1", "2"])
    }))

  it.effect("passes upstream errors through", () =>
    Effect.gen(function*() {
      const error = yield* Stream.concat(bytes("a\n1\n", 0), Stream.fail("boom" as const)).pipe(
        DatasetCsv.parse(),
        Stream.runDrain,
        Effect.flip
      )
      assert.strictEqual(error, "boom")
    }))

  it.effect("a field over maxFieldSize fails with a CsvError naming its line, quoted or not, whole or in chunks", () =>
    Effect.gen(function*() {
      const inputs = [
        ["unquoted", "a,b\n1,2\n3,xxxxxxxxxxxxxxxx\n5,6\n"],
        ["quoted", "a,b\n1,2\n3,\"xx\nxxxxxxxxxxxxxxx\"\n5,6\n"],
        ["quoted with escaped quotes", `a,b\n1,2\n3,"${"\"\"".repeat(12)}"\n`],
        ["in the header", "a,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n1,2\n"]
      ] as const
      for (const [name, input] of inputs) {
        for (const size of chunkings) {
          const { error, records } = yield* run(input, size, { maxFieldSize: 10 })
          const line = name === "in the header" ? 1 : 3
          assert.instanceOf(error, DatasetCsv.CsvError, `${name}, ${label(size)}`)
          assert.strictEqual((error as DatasetCsv.CsvError).line, line, `${name}, ${label(size)}`)
          assert.include(error!.message, "longer than 10 characters (maxFieldSize)")
          assert.lengthOf(records, line === 1 ? 0 : 1, `${name}, ${label(size)}: the rows before it`)
        }
      }
      // At the bound, the field is read.
      const { error } = yield* run("a\n\"0123456789\"\n", 1, { maxFieldSize: 10 })
      assert.isUndefined(error)
    }))

  it.effect(
    "by default a field of 16 Mi characters is read and a longer one fails, as a CsvError",
    () =>
      Effect.gen(function*() {
        const max = 16 * 1024 * 1024
        const field = "x".repeat(max)
        const ok = yield* run(`a\n"${field}"\n`, 64 * 1024)
        assert.isUndefined(ok.error)
        assert.strictEqual(ok.records[0]!.a!.length, max)
        const over = yield* run(`a\n"${field}x"\n`, 64 * 1024)
        assert.instanceOf(over.error, DatasetCsv.CsvError)
        assert.strictEqual((over.error as DatasetCsv.CsvError).line, 2)
      }),
    { timeout: 60_000 }
  )

  it.effect("error messages stay readable: a wide header or a long column name is cut", () =>
    Effect.gen(function*() {
      const wide = Array.from({ length: 100_000 }, (_, i) => `column_number_${i}`).join(",")
      const ragged = yield* run(`${wide}\n1,2\n`, 0)
      assert.instanceOf(ragged.error, DatasetCsv.CsvError)
      assert.include(ragged.error!.message, "100000 columns")
      assert.isBelow(ragged.error!.message.length, 500)
      const name = "n".repeat(1_000_000)
      const twice = yield* run(`${name},${name}\n1,2\n`, 0)
      assert.instanceOf(twice.error, DatasetCsv.CsvError)
      assert.isBelow(twice.error!.message.length, 300)
      assert.isBelow(JSON.stringify(twice.error).length, 1_000)
      const after = yield* run(`a\n"x"${"y".repeat(100_000)}\n`, 0)
      assert.isBelow(after.error!.message.length, 300)
    }))

  it.effect("emits rows as they arrive, before the input ends", () =>
    Effect.gen(function*() {
      // An input that never ends: the first rows still come out.
      const first = yield* Stream.concat(bytes("a,b\n1,2\n3,4\n", 3), Stream.never).pipe(
        DatasetCsv.parse(),
        Stream.take(2),
        Stream.runCollect
      )
      assert.deepStrictEqual(Chunk.toReadonlyArray(first).map((r) => r.b), ["2", "4"])
    }))
})

const header = "url,title,value,dimension,timestamp"

describe("DatasetCsv.decodeRows", () => {
  const decode = (input: string) => bytes(input, 5).pipe(DatasetCsv.parse(), DatasetCsv.decodeRows, collect)

  it.effect("types rows: numeric values as numbers, others kept as text, empty timestamps absent", () =>
    Effect.gen(function*() {
      const rows = yield* decode(
        `${header}\r\n` +
          "https://a.example/1,\"Stats, \"\"2020\"\"\",42.5,2020,2020-01-01T00:00:00Z\r\n" +
          "https://a.example/2,Ünïcode 世界,n/a,region,\r\n" +
          "https://a.example/3,\"two\nlines\",-1e3,x,2021-01-01T00:00:00Z\r\n"
      )
      assert.deepStrictEqual(rows, [
        {
          url: "https://a.example/1",
          title: "Stats, \"2020\"",
          value: 42.5,
          dimension: "2020",
          timestamp: "2020-01-01T00:00:00Z",
          extra: {}
        },
        { url: "https://a.example/2", title: "Ünïcode 世界", value: "n/a", dimension: "region", extra: {} },
        {
          url: "https://a.example/3",
          title: "two\nlines",
          value: -1000,
          dimension: "x",
          timestamp: "2021-01-01T00:00:00Z",
          extra: {}
        }
      ])
    }))

  it.effect("keeps extra columns and accepts a CSV without timestamps", () =>
    Effect.gen(function*() {
      const rows = yield* decode("source,url,title,value,dimension,unit\nweb,u,t,7,d,kg\n")
      assert.deepStrictEqual(rows, [{
        url: "u",
        title: "t",
        value: 7,
        dimension: "d",
        extra: { source: "web", unit: "kg" }
      }])
    }))

  it.effect("names the physical line of a bad row, quoted line breaks counted", () =>
    Effect.gen(function*() {
      const error = yield* bytes("url,title,value,dimension\r\nu,\"a\r\nb\nc\",1,d\r\nu,t,1\r\n", 3).pipe(
        DatasetCsv.parse({ allowRaggedRows: true }),
        DatasetCsv.decodeRows,
        Stream.runDrain,
        Effect.flip
      )
      assert.strictEqual(error.line, 5)
      assert.strictEqual(error.column, "dimension")
    }))

  it.effect("names the line and the column of a row that is not a CsvRow", () =>
    Effect.gen(function*() {
      const error = yield* decode("url,title,value\nu,\"a\nb\",1\n").pipe(Effect.flip)
      assert.instanceOf(error, DatasetCsv.CsvError)
      assert.strictEqual(error.line, 2)
      assert.strictEqual((error as DatasetCsv.CsvError).column, "dimension")
      assert.match(error.message, /^CSV line 2, column "dimension": the row has no "dimension"/)
    }))

  it.effect("counts lines from 2 for records that do not come from parse", () =>
    Effect.gen(function*() {
      const error = yield* Stream.make({ url: "u", title: "t", value: "1", dimension: "d" }, { url: "u" }).pipe(
        DatasetCsv.decodeRows,
        Stream.runDrain,
        Effect.flip
      )
      assert.strictEqual(error.line, 3)
      assert.strictEqual(error.column, "title")
    }))

  it("parses values: finite decimal numbers become numbers, the rest stays text", () => {
    const cases: ReadonlyArray<[string, number | string]> = [
      ["42.5", 42.5],
      ["-3", -3],
      ["+7", 7],
      [" 8 ", 8],
      ["1e6", 1e6],
      [".5", 0.5],
      ["5.", 5],
      ["007", 7],
      ["", ""],
      ["n/a", "n/a"],
      ["1,234", "1,234"],
      ["0x10", "0x10"],
      ["Infinity", "Infinity"],
      ["NaN", "NaN"],
      ["1e999", "1e999"],
      ["12%", "12%"]
    ]
    for (const [text, value] of cases) assert.strictEqual(DatasetCsv.parseValue(text), value, text)
  })

  it("CsvRowFromRecord decodes and encodes as a schema", () => {
    const row = Schema.decodeUnknownSync(DatasetCsv.CsvRowFromRecord)({
      url: "u",
      title: "t",
      value: "1.5",
      dimension: "d",
      timestamp: "",
      unit: "kg"
    })
    assert.deepStrictEqual(row, { url: "u", title: "t", value: 1.5, dimension: "d", extra: { unit: "kg" } })
    assert.deepStrictEqual(Schema.encodeSync(DatasetCsv.CsvRowFromRecord)(row), {
      url: "u",
      title: "t",
      value: "1.5",
      dimension: "d",
      unit: "kg"
    })
    const missing = Schema.decodeUnknownEither(DatasetCsv.CsvRowFromRecord)({ url: "u" })
    assert.isTrue(Either.isLeft(missing))
  })
})
