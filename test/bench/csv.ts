/**
 * CSV parsing throughput and memory: `DatasetCsv.parse` beside the best
 * registry parsers (csv-parse 7 and papaparse 5) on the same bytes in the
 * same run.
 *
 * - A ~200 MB CSV (quick: ~5 MB) of the spec's columns, a third of its rows
 *   with quoted titles holding commas, `""`, line breaks and non-ASCII text,
 *   is written to a temporary file.
 * - Streaming: each parser reads that file as 64 KB chunks from the same
 *   `fs.createReadStream` (ours through `NodeStream.fromReadable`) and builds one record object per row keyed by the
 *   header (csv-parse `columns: true`, papaparse `header: true` with its
 *   `chunk` callback, its fastest streaming mode). Alternating repetitions,
 *   the median is reported.
 * - In memory (no I/O; 20 MB, quick: 5 MB): `parse` over 64 KB chunks of a
 *   buffer, beside csv-parse's sync API and papaparse (`step`) on the whole
 *   string.
 * - Memory: peak RSS growth while the whole file streams through `parse`,
 *   sampled at every chunk, measured first in the process.
 *
 * Run: `npx tsx --conditions=source test/bench/csv.ts [--quick]`
 */
import { DatasetCsv } from "@effect-qoery/client"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { parse as csvParseStream } from "csv-parse"
import { parse as csvParseSync } from "csv-parse/sync"
import { Chunk, Effect, Stream } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import Papa from "papaparse"
import { median } from "./stats.js"

export interface CsvBenchResult {
  /** DatasetCsv.parse streaming the file, median MB/s. */
  readonly mbPerSec: number
  /** The fastest registry parser streaming the same file, median MB/s. */
  readonly referenceMbPerSec: number
  /** Which one it was. */
  readonly reference: string
  /** Peak RSS growth while the file streams through parse. */
  readonly rssGrowthMB: number
  readonly fileMB: number
  readonly rows: number
  readonly streaming: Record<string, number>
  readonly inMemory: Record<string, number>
  readonly inMemoryMB: number
  readonly repetitions: number
}

const chunkSize = 64 * 1024

const titles = [
  "Global temperature anomaly",
  "CO2 concentration, Mauna Loa",
  "Sea level rise \"satellite\" record",
  "Arctic sea ice extent\nSeptember minimum",
  "Émissions de CO₂ par habitant, 世界",
  "Renewable share of electricity"
]

/** Writes the CSV to `file` in 1 MB pieces and returns its size in bytes and its rows. */
const generate = (file: string, targetBytes: number) => {
  const fd = fs.openSync(file, "w")
  let bytes = 0
  let rows = 0
  let piece: Array<string> = ["url,title,value,dimension,timestamp\r\n"]
  let pieceLength = piece[0]!.length
  const flush = () => {
    const buffer = Buffer.from(piece.join(""), "utf8")
    fs.writeSync(fd, buffer)
    bytes += buffer.length
    piece = []
    pieceLength = 0
  }
  while (bytes + pieceLength < targetBytes) {
    const i = rows
    const base = titles[i % titles.length]!
    const title = i % 3 === 0
      ? `"${base.replaceAll("\"", "\"\"")}, row ${i}"`
      : `${base.replaceAll(/[",\n]/g, " ")} ${i}`
    const line = `https://data.example.org/source/${i % 997}/series?page=${i},${title},${
      (Math.sin(i) * 1000).toFixed(3)
    },${1990 + (i % 35)},${1990 + (i % 35)}-01-01T00:00:00Z\r\n`
    piece.push(line)
    pieceLength += line.length
    rows++
    if (pieceLength > 1 << 20) flush()
  }
  flush()
  fs.closeSync(fd)
  return { bytes, rows }
}

const readStream = (file: string) => fs.createReadStream(file, { highWaterMark: chunkSize })

/** The file as an Effect stream of 64 KB chunks, from the same `fs.createReadStream` as the others. */
const fileStream = (file: string) =>
  NodeStream.fromReadable<Error, Uint8Array>(() => readStream(file), (e) => e as Error, { chunkSize })

const ours = (file: string): Promise<number> =>
  Effect.runPromise(fileStream(file).pipe(DatasetCsv.parse(), Stream.runCount))

const csvParse = (file: string): Promise<number> =>
  new Promise((resolve, reject) => {
    let n = 0
    readStream(file)
      .pipe(csvParseStream({ columns: true }))
      .on("data", () => n++)
      .on("end", () => resolve(n))
      .on("error", reject)
  })

const papaparse = (file: string): Promise<number> =>
  new Promise((resolve, reject) => {
    let n = 0
    const input = readStream(file)
    input.setEncoding("utf8")
    Papa.parse(input as any, {
      header: true,
      skipEmptyLines: true,
      chunk: (results: Papa.ParseResult<unknown>) => {
        n += results.data.length
      },
      complete: () => resolve(n),
      error: (e: unknown) => reject(e)
    } as Papa.ParseConfig<unknown>)
  })

const streaming: Record<string, (file: string) => Promise<number>> = {
  "DatasetCsv.parse": ours,
  "csv-parse (stream)": csvParse,
  "papaparse (stream)": papaparse
}

const inMemory = (buffer: Uint8Array): Record<string, () => Promise<number>> => {
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < buffer.length; i += chunkSize) chunks.push(buffer.subarray(i, i + chunkSize))
  const text = new TextDecoder().decode(buffer)
  return {
    // One Uint8Array per Stream chunk, as a file or an HTTP body arrives (Stream.fromIterable would batch them all).
    "DatasetCsv.parse": () =>
      Effect.runPromise(Stream.fromChunks(...chunks.map((c) => Chunk.of(c))).pipe(DatasetCsv.parse(), Stream.runCount)),
    "csv-parse (sync)": async () => csvParseSync(text, { columns: true }).length,
    // `step` measured faster than `chunk` on a string input.
    "papaparse (string)": async () => {
      let n = 0
      Papa.parse(text, {
        header: true,
        skipEmptyLines: true,
        step: () => {
          n++
        }
      } as Papa.ParseConfig<unknown>)
      return n
    }
  }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.()

/** Peak RSS growth over the baseline while the file streams through parse, sampled at every chunk. */
const rssGrowth = async (file: string) => {
  gc()
  const baseline = process.memoryUsage.rss()
  let peak = baseline
  const rows = await Effect.runPromise(
    fileStream(file).pipe(
      DatasetCsv.parse(),
      Stream.mapChunks((chunk) => {
        const rss = process.memoryUsage.rss()
        if (rss > peak) peak = rss
        return chunk
      }),
      Stream.runCount
    )
  )
  return { rows, growthMB: (peak - baseline) / 1e6 }
}

/**
 * `rssGrowth` in a fresh node process: in this one, generating the file and
 * earlier benchmarks have already grown the heap, and the process keeps those
 * pages, so streaming would seem to take no memory at all.
 */
const rssGrowthInChild = (file: string): Promise<{ readonly rows: number; readonly growthMB: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--expose-gc", "--conditions=source", "--import", "tsx", fileURLToPath(import.meta.url), "--rss-of", file],
      { stdio: ["ignore", "pipe", "inherit"] }
    )
    let out = ""
    child.stdout.setEncoding("utf8").on("data", (s: string) => out += s)
    child.on(
      "close",
      (code) =>
        code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1)!)) : reject(new Error(`rss child exited ${code}`))
    )
  })

const time = async (f: () => Promise<number>) => {
  const start = performance.now()
  const rows = await f()
  return { rows, seconds: (performance.now() - start) / 1000 }
}

export const runCsvBench = async ({ quick }: { readonly quick: boolean }): Promise<CsvBenchResult> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qoery-csv-bench-"))
  const file = path.join(dir, "data.csv")
  try {
    const generated = generate(file, quick ? 5e6 : 200e6)
    const fileMB = generated.bytes / 1e6
    const memory = await rssGrowthInChild(file)
    if (memory.rows !== generated.rows) throw new Error(`parse gave ${memory.rows} rows, expected ${generated.rows}`)

    const repetitions = quick ? 5 : 3
    // Quick: one untimed run of each first, so that a small input does not mostly time the JIT warming up.
    if (quick) { for (const name of Object.keys(streaming)) await streaming[name]!(file) }
    const speeds: Record<string, Array<number>> = {}
    for (let r = 0; r < repetitions; r++) {
      // Alternate the order so that no parser always runs on a warmer (or more fragmented) heap.
      const names = Object.keys(streaming)
      const order = r % 2 === 0 ? names : [...names].reverse()
      for (const name of order) {
        gc()
        const { rows, seconds } = await time(() => streaming[name]!(file))
        if (rows !== generated.rows) throw new Error(`${name} gave ${rows} rows, expected ${generated.rows}`)
        ;(speeds[name] ??= []).push(fileMB / seconds)
      }
    }
    const streamingMedians = Object.fromEntries(Object.entries(speeds).map(([k, v]) => [k, median(v)]))

    const inMemoryBytes = Math.min(generated.bytes, quick ? 5e6 : 20e6)
    const buffer = new Uint8Array(inMemoryBytes)
    const fd = fs.openSync(file, "r")
    fs.readSync(fd, buffer, 0, inMemoryBytes, 0)
    fs.closeSync(fd)
    // Cut at the last row end so that every parser sees whole rows.
    const cut = buffer.lastIndexOf(10) + 1
    const memoryInput = inMemory(buffer.subarray(0, cut))
    const memorySpeeds: Record<string, Array<number>> = {}
    let expected: number | undefined
    for (let r = 0; r < repetitions + 2; r++) {
      const names = Object.keys(memoryInput)
      for (const name of r % 2 === 0 ? names : [...names].reverse()) {
        gc()
        const { rows, seconds } = await time(memoryInput[name]!)
        expected ??= rows
        if (rows !== expected) throw new Error(`${name} gave ${rows} rows in memory, expected ${expected}`)
        ;(memorySpeeds[name] ??= []).push(cut / 1e6 / seconds)
      }
    }
    const inMemoryMedians = Object.fromEntries(Object.entries(memorySpeeds).map(([k, v]) => [k, median(v)]))

    const [reference, referenceMbPerSec] = Object.entries(streamingMedians)
      .filter(([name]) => name !== "DatasetCsv.parse")
      .sort((a, b) => b[1] - a[1])[0]!
    return {
      mbPerSec: streamingMedians["DatasetCsv.parse"]!,
      referenceMbPerSec,
      reference,
      rssGrowthMB: memory.growthMB,
      fileMB,
      rows: generated.rows,
      streaming: streamingMedians,
      inMemory: inMemoryMedians,
      inMemoryMB: cut / 1e6,
      repetitions
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const table = (r: CsvBenchResult) => {
  const lines = [
    `CSV: ${r.fileMB.toFixed(1)} MB, ${r.rows} rows, a third quoted; median of ${r.repetitions} alternating runs`,
    "",
    "| parser | streaming the file, MB/s | in memory, MB/s |",
    "|---|---|---|"
  ]
  const pairs: Array<[string, string]> = [
    ["DatasetCsv.parse", "DatasetCsv.parse"],
    ["csv-parse (stream)", "csv-parse (sync)"],
    ["papaparse (stream)", "papaparse (string)"]
  ]
  for (const [s, m] of pairs) {
    lines.push(`| ${s} / ${m} | ${r.streaming[s]!.toFixed(1)} | ${r.inMemory[m]!.toFixed(1)} |`)
  }
  lines.push(
    "",
    `DatasetCsv.parse ${r.mbPerSec.toFixed(1)} MB/s vs ${r.reference} ${r.referenceMbPerSec.toFixed(1)} MB/s ` +
      `(x${(r.mbPerSec / r.referenceMbPerSec).toFixed(2)}); in memory ${r.inMemoryMB.toFixed(1)} MB`,
    `peak RSS growth streaming the file through parse: ${r.rssGrowthMB.toFixed(1)} MB (target < 64)`
  )
  return lines.join("\n")
}

const rssOf = process.argv.indexOf("--rss-of")
if (rssOf !== -1) {
  console.log(JSON.stringify(await rssGrowth(process.argv[rssOf + 1]!)))
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runCsvBench({ quick: process.argv.includes("--quick") })
  console.log(table(result))
}
