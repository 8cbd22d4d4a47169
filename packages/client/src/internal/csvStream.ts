/**
 * Stream plumbing for the CSV parser: one channel step per upstream chunk,
 * never one effect per row.
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import type { Failure, ParserOptions } from "./csvParser.js"
import { CsvParser } from "./csvParser.js"

/** A stateful chunk-to-chunk step that may stop with an error; `end` runs once upstream is done. */
export interface Transducer<A, B, E> {
  readonly step: (input: Chunk.Chunk<A>, out: Array<B>) => E | undefined
  readonly end: (out: Array<B>) => E | undefined
  /** Makes the output chunk of a step (default `Chunk.unsafeFromArray`). */
  readonly chunk?: (out: Array<B>) => Chunk.Chunk<B>
}

/**
 * The line each record of a chunk made by `parseBytes` starts on. Kept beside
 * the chunk rather than on each record: records stay plain objects, and it
 * costs one entry per chunk instead of one per row.
 */
export const chunkLines = new WeakMap<Chunk.Chunk<unknown>, ReadonlyArray<number>>()

/** Runs a transducer over a stream: what it produced before an error is still emitted, then the stream fails. */
export const transduce =
  <A, B, E2>(make: () => Transducer<A, B, E2>) => <E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<B, E | E2, R> => {
    const channel = Channel.suspend(() => {
      const transducer = make()
      const toChunk = transducer.chunk ?? Chunk.unsafeFromArray
      const emit = (out: Array<B>) => out.length === 0 ? Channel.void : Channel.write(toChunk(out))
      const loop: Channel.Channel<Chunk.Chunk<B>, Chunk.Chunk<A>, E | E2, E, unknown, unknown> = Channel
        .readWithCause({
          onInput: (input: Chunk.Chunk<A>) => {
            const out: Array<B> = []
            const error = transducer.step(input, out)
            if (error !== undefined) return Channel.zipRight(emit(out), Channel.fail(error))
            return out.length === 0 ? loop : Channel.zipRight(Channel.write(toChunk(out)), loop)
          },
          onFailure: Channel.failCause,
          onDone: () => {
            const out: Array<B> = []
            const error = transducer.end(out)
            return error === undefined ? emit(out) : Channel.zipRight(emit(out), Channel.fail(error))
          }
        })
      return loop
    })
    return Stream.pipeThroughChannel(self, channel)
  }

/** How the parser's failures and an input cut mid row become errors. */
export interface ParseHooks<E2> {
  readonly failure: (failure: Failure) => E2
  /** When set, input that does not end at the end of a row fails with this instead (a download cut short). */
  readonly cutMidRow?: ((line: number) => E2) | undefined
  /** Checks the column names once the header row is read. */
  readonly header?: ((columns: ReadonlyArray<string>) => E2 | undefined) | undefined
  /** When set, input that ends with no header row (empty, blank lines, a BOM alone) fails with this. */
  readonly noHeader?: (() => E2) | undefined
}

/** The transducer of `parseBytes`, which also tells whether the header row was read and passed `header`. */
export interface BytesParser<E2> extends Transducer<Uint8Array, Record<string, string>, E2> {
  readonly headerAccepted: () => boolean
}

/** Bytes to records: streaming UTF-8 decoding (characters split across chunks, BOM) and the parser. */
export const bytesParser = <E2>(options: ParserOptions, hooks: ParseHooks<E2>): BytesParser<E2> => {
  const parser = new CsvParser(options)
  // The BOM is stripped by the parser, so that it goes whichever decoder is used.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true })
  let headerChecked = hooks.header === undefined
  let headerAccepted = false
  // The header first: a bad header says more than the rows that do not fit it, and one that passed stays
  // accepted whatever a row after it does.
  const check = () => {
    if (!headerChecked && parser.columns !== undefined) {
      headerChecked = true
      const error = hooks.header!(parser.columns)
      if (error !== undefined) return error
    }
    if (parser.columns !== undefined) headerAccepted = true
    return parser.failure === undefined ? undefined : hooks.failure(parser.failure)
  }
  return {
    step: (input, out) => {
      for (const bytes of input) {
        parser.feed(decoder.decode(bytes, { stream: true }), out)
        const error = check()
        if (error !== undefined) {
          // A bad header: the rows read with it are not given out.
          if (!headerAccepted) out.length = 0
          return error
        }
      }
      return undefined
    },
    end: (out) => {
      parser.feed(decoder.decode(), out)
      if (parser.failure === undefined && hooks.cutMidRow !== undefined && !parser.atRowBoundary) {
        return hooks.cutMidRow(parser.currentRowLine)
      }
      parser.end(out)
      const error = check()
      if (error !== undefined) return error
      return parser.columns === undefined && hooks.noHeader !== undefined ? hooks.noHeader() : undefined
    },
    chunk: (out) => {
      const chunk = Chunk.unsafeFromArray(out)
      chunkLines.set(chunk, parser.lines)
      parser.lines = []
      return chunk
    },
    headerAccepted: () => headerAccepted
  }
}

/** Bytes to records, as a stream (see `bytesParser`). */
export const parseBytes = <E2>(options: ParserOptions, hooks: ParseHooks<E2>) =>
  transduce<Uint8Array, Record<string, string>, E2>(() => bytesParser(options, hooks))

/**
 * The bytes as they came, given out only once the header row has been read and
 * accepted: until then they are held (at most `maxHeld` bytes, else `tooLong`),
 * parsed with `hooks`, and a failure there (a bad header, no header at all, a
 * header cut short) fails the stream with nothing given out. After the header
 * the bytes pass through unparsed: the rows are not this check's concern.
 */
export const checkHeaderBytes = <E2>(
  options: ParserOptions,
  hooks: ParseHooks<E2>,
  maxHeld: number,
  tooLong: () => E2
) =>
  transduce<Uint8Array, Uint8Array, E2>(() => {
    const parser = bytesParser(options, hooks)
    let held: Array<Uint8Array> | undefined = []
    let heldBytes = 0
    const records: Array<Record<string, string>> = []
    /** The records are not given out; `chunk` also forgets their lines. */
    const discard = () => {
      parser.chunk!(records)
      records.length = 0
    }
    const release = (out: Array<Uint8Array>) => {
      for (const bytes of held!) out.push(bytes)
      held = undefined
    }
    return {
      step: (input, out) => {
        if (held === undefined) {
          for (const bytes of input) out.push(bytes)
          return undefined
        }
        const error = parser.step(input, records)
        discard()
        for (const bytes of input) {
          held.push(bytes)
          heldBytes += bytes.length
        }
        // A failure in a row after an accepted header is left to whoever reads the rows.
        if (parser.headerAccepted()) {
          release(out)
          return undefined
        }
        if (error !== undefined) return error
        return heldBytes > maxHeld ? tooLong() : undefined
      },
      end: (out) => {
        if (held === undefined) return undefined
        const error = parser.end(records)
        discard()
        if (parser.headerAccepted()) {
          release(out)
          return undefined
        }
        return error
      }
    }
  })
