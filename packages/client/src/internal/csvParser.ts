/**
 * A resumable RFC 4180 parser over decoded text chunks.
 *
 * It keeps only the unfinished row between chunks, so memory does not grow
 * with the input, and it scans with `indexOf` for the next delimiter instead
 * of visiting every character. Rows come out as records keyed by the header.
 *
 * @internal
 */

const COMMA = 44
const QUOTE = 34
const LF = 10
const CR = 13
const BOM = 0xfeff

/** At the start of a field (or of a row when `col === 0`). */
const START = 0
/** Inside an unquoted field; `partial` holds what came before this chunk. */
const UNQUOTED = 1
/** Inside a quoted field; `partial` holds its content so far. */
const QUOTED = 2
/** Just after a quote inside a quoted field: an escaped quote or the closing one. */
const QUOTE_SEEN = 3
/** Just after a CR that ended a row: a LF right after it belongs to it. */
const AFTER_CR = 4

/** @internal */
export interface Failure {
  readonly line: number
  readonly column?: string | undefined
  readonly description: string
}

/** @internal */
export interface ParserOptions {
  readonly allowRaggedRows?: boolean | undefined
  /** The longest field, in characters (UTF-16 code units). */
  readonly maxFieldSize?: number | undefined
}

/** The default bound of a field: 16 Mi characters. */
export const defaultMaxFieldSize = 16 * 1024 * 1024

/** The most characters of input an error message quotes. */
const maxQuoted = 60

/** Text cut to a readable length for a message. */
export const cut = (text: string, max = maxQuoted): string =>
  text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`

/** The column names for a message: the first few, each cut, and how many there are. */
const columnList = (names: ReadonlyArray<string>): string => {
  const shown = names.slice(0, 8).map((name) => cut(name, 30)).join(", ")
  return names.length > 8 ? `${shown}, ... (${names.length} columns)` : shown
}

const indexOf = (s: string, c: string, from: number, n: number) => {
  const i = s.indexOf(c, from)
  return i === -1 ? n : i
}

/** @internal */
export class CsvParser {
  private mode = START
  private partial = ""
  /** Fields completed in the current row. */
  private col = 0
  /** The physical line the parser is on (1-based). */
  private line = 1
  private rowLine = 1
  private quoteLine = 1
  /** A CR inside quotes was the last character of a chunk: whether it is a line of its own depends on the next. */
  private crPending = false
  private header: ReadonlyArray<string> | undefined = undefined
  private width = 0
  private headerFields: Array<string> = []
  private safeKeys = true
  private record: Record<string, string> = {}
  private started = false
  private bomChecked = false
  private readonly allowRagged: boolean
  private readonly maxField: number

  failure: Failure | undefined = undefined
  rows = 0
  /** The line each record pushed to `out` starts on, in the same order; the caller empties it. */
  lines: Array<number> = []

  constructor(options: ParserOptions = {}) {
    this.allowRagged = options.allowRaggedRows === true
    this.maxField = options.maxFieldSize ?? defaultMaxFieldSize
  }

  /** The column names, once the header row has been read. */
  get columns(): ReadonlyArray<string> | undefined {
    return this.header
  }

  /** Whether everything fed so far ends at the end of a row (or nothing was fed). */
  get atRowBoundary(): boolean {
    return !this.started || ((this.mode === START || this.mode === AFTER_CR) && this.col === 0)
  }

  /** The line the unfinished row started on. */
  get currentRowLine(): number {
    return this.mode === START && this.col === 0 ? this.line : this.rowLine
  }

  /** Parses a chunk of text, pushing the rows it completes to `out`. */
  feed(text: string, out: Array<Record<string, string>>): void {
    let s = text
    if (this.failure !== undefined || s.length === 0) return
    if (!this.bomChecked) {
      this.bomChecked = true
      if (s.charCodeAt(0) === BOM) {
        s = s.slice(1)
        if (s.length === 0) return
      }
    }
    this.started = true
    const n = s.length
    let i = 0
    if (this.crPending) {
      this.crPending = false
      if (s.charCodeAt(0) !== LF) this.line++
    }
    let mode = this.mode
    // The position of the next quote, `n` when there is none in this chunk; recomputed once passed.
    let nextQuote = -1

    while (i < n) {
      if (mode === START) {
        const c = s.charCodeAt(i)
        if (c === QUOTE) {
          if (this.col === 0) this.rowLine = this.line
          this.quoteLine = this.line
          mode = QUOTED
          i++
          continue
        }
        if (this.col === 0) {
          if (c === LF || c === CR) {
            // A blank line: no record.
            this.line++
            i++
            if (c === CR) {
              if (i < n) {
                if (s.charCodeAt(i) === LF) i++
              } else {
                mode = AFTER_CR
              }
            }
            continue
          }
          this.rowLine = this.line
        }
        mode = UNQUOTED
      }

      if (mode === UNQUOTED) {
        // Plain fields are short: a tight loop over char codes beats indexOf for three delimiters.
        let end = i
        let d = 0
        while (end < n) {
          d = s.charCodeAt(end)
          // Most characters come after the comma in the code table: one comparison for them.
          if (d > COMMA) {
            end++
            continue
          }
          if (d === COMMA || d === LF || d === CR) break
          end++
        }
        if (end === n) {
          if (this.tooLong(this.partial.length + n - i)) break
          this.partial = this.partial === "" ? s.slice(i) : this.partial + s.slice(i)
          i = n
          break
        }
        if (this.tooLong(this.partial.length + end - i)) break
        const value = this.partial === "" ? s.slice(i, end) : this.partial + s.slice(i, end)
        this.partial = ""
        this.field(value)
        i = end + 1
        mode = START
        if (d !== COMMA) {
          this.endRow(out)
          this.line++
          if (d === CR) {
            if (i < n) {
              if (s.charCodeAt(i) === LF) i++
            } else {
              mode = AFTER_CR
            }
          }
        }
        if (this.failure !== undefined) break
        continue
      }

      if (mode === QUOTED) {
        if (nextQuote < i) nextQuote = indexOf(s, "\"", i, n)
        const q = nextQuote
        // Count the line breaks inside the quotes: LF, CRLF and a lone CR each end a physical line.
        for (let k = i; k < q; k++) {
          const c = s.charCodeAt(k)
          if (c === LF) this.line++
          else if (c === CR) {
            if (k + 1 < n) {
              if (s.charCodeAt(k + 1) !== LF) this.line++
            } else {
              this.crPending = true
            }
          }
        }
        if (this.tooLong(this.partial.length + q - i)) break
        if (q === n) {
          this.partial = this.partial === "" ? s.slice(i) : this.partial + s.slice(i)
          i = n
          break
        }
        this.partial = this.partial === "" ? s.slice(i, q) : this.partial + s.slice(i, q)
        i = q + 1
        mode = QUOTE_SEEN
        if (i === n) break
      }

      if (mode === QUOTE_SEEN) {
        const c = s.charCodeAt(i)
        if (c === QUOTE) {
          if (this.tooLong(this.partial.length + 1)) break
          this.partial += "\""
          i++
          mode = QUOTED
          continue
        }
        if (c !== COMMA && c !== LF && c !== CR) {
          this.failure = {
            line: this.line,
            description:
              `unexpected ${
                JSON.stringify(String.fromCodePoint(s.codePointAt(i)!))
              } after the closing quote of a field ` +
              `(a quote inside a quoted field is written "")`
          }
          break
        }
        const value = this.partial
        this.partial = ""
        this.field(value)
        i++
        mode = START
        if (c !== COMMA) {
          this.endRow(out)
          this.line++
          if (c === CR) {
            if (i < n) {
              if (s.charCodeAt(i) === LF) i++
            } else {
              mode = AFTER_CR
            }
          }
        }
        if (this.failure !== undefined) break
        continue
      }

      // AFTER_CR
      if (s.charCodeAt(i) === LF) i++
      mode = START
    }
    this.mode = mode
  }

  /** Ends the input: completes a last row without a line end, or fails on an unterminated quote. */
  end(out: Array<Record<string, string>>): void {
    if (this.failure !== undefined) return
    switch (this.mode) {
      case START: {
        // After a trailing comma the row still has its last, empty, field.
        if (this.col > 0) {
          this.field("")
          this.endRow(out)
        }
        break
      }
      case UNQUOTED:
      case QUOTE_SEEN: {
        const value = this.partial
        this.partial = ""
        this.field(value)
        this.endRow(out)
        break
      }
      case QUOTED: {
        this.failure = {
          line: this.quoteLine,
          description: `unterminated quoted field: the input ends inside the quotes opened on line ${this.quoteLine}`
        }
        break
      }
    }
    this.mode = START
  }

  /**
   * Whether a field of `length` characters is over the bound; then the
   * parser fails there, naming the line the field started on, before a
   * string that big is built.
   */
  private tooLong(length: number): boolean {
    if (length <= this.maxField) return false
    this.partial = ""
    this.failure = {
      line: this.rowLine,
      description: `a field is longer than ${this.maxField} characters (maxFieldSize); ` +
        `the rows before it were read`
    }
    return true
  }

  private field(value: string): void {
    const header = this.header
    if (header === undefined) {
      this.headerFields.push(value)
      this.col++
      return
    }
    const col = this.col
    if (col === 0) this.record = {}
    if (col < this.width) {
      if (this.safeKeys) this.record[header[col]!] = value
      else define(this.record, header[col]!, value)
    } else if (this.allowRagged) {
      this.record[`_${col + 1}`] = value
    } else if (this.failure === undefined) {
      this.failure = {
        line: this.rowLine,
        description: `the row has more fields than the ${this.width} columns of the header (${columnList(header)})`
      }
    }
    this.col = col + 1
  }

  private endRow(out: Array<Record<string, string>>): void {
    if (this.header === undefined) {
      const names = this.headerFields
      this.headerFields = []
      this.col = 0
      const seen = new Set<string>()
      for (const name of names) {
        if (seen.has(name)) {
          this.failure = {
            line: this.rowLine,
            column: cut(name, 30),
            description: `the header names column ${JSON.stringify(cut(name, 30))} twice`
          }
          return
        }
        seen.add(name)
        if (name === "__proto__") this.safeKeys = false
      }
      this.header = names
      this.width = names.length
      return
    }
    if (this.col < this.width && !this.allowRagged && this.failure === undefined) {
      this.failure = {
        line: this.rowLine,
        description: `the row has ${this.col} field${this.col === 1 ? "" : "s"} where the header has ${this.width} (${
          columnList(this.header)
        })`
      }
    }
    this.col = 0
    if (this.failure !== undefined) return
    out.push(this.record)
    this.lines.push(this.rowLine)
    this.rows++
  }
}

const define = (record: Record<string, string>, key: string, value: string) =>
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
