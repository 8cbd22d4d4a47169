/**
 * The help of `qoery` and of each command, as a command-line tool prints it:
 * a usage line that starts with `qoery`, our descriptions only (the flag
 * parser's own filler, such as "A user-defined piece of text.", is left
 * out), plain text unless stdout is a terminal that takes colour. And the
 * "did you mean" for a mistyped command.
 *
 * The flags and arguments are read from the commands themselves
 * (`Command.getHelp` / `Command.getUsage` of @effect/cli), so the help cannot
 * drift from what is parsed.
 */
import * as AutoCorrect from "@effect/cli/AutoCorrect"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as Usage from "@effect/cli/Usage"
import * as Match from "effect/Match"

/** A command as the help sees it (any handler, any error). */

export type AnyCommand = Command.Command<any, any, any, any>

const config = CliConfig.defaultConfig

/** The text of a span, without styles. */
export const spanText = (span: Span.Span): string =>
  Match.valueTags(span, {
    Text: (s) => s.value,
    URI: (s) => s.value,
    Highlight: (s) => spanText(s.value),
    Strong: (s) => spanText(s.value),
    Weak: (s) => spanText(s.value),
    Sequence: (s) => spanText(s.left) + spanText(s.right)
  })

/** The paragraphs of a help block, in order. */
const paragraphs = (doc: HelpDoc.HelpDoc): Array<string> =>
  Match.valueTags(doc, {
    Empty: () => [],
    Header: (d) => [spanText(d.value)],
    Paragraph: (d) => [spanText(d.value)],
    DescriptionList: (d) => d.definitions.flatMap(([span, block]) => [spanText(span), ...paragraphs(block)]),
    Enumeration: (d) => d.elements.flatMap(paragraphs),
    Sequence: (d) => [...paragraphs(d.left), ...paragraphs(d.right)]
  })

/** The flag parser's built-in flags: `--help` is listed by us, the others are not ours to show. */
const builtIn = /^(\(-h, --help\)|--completions|--log-level|--wizard|--version)(\s|$)/

/** The flag parser's sentences about a flag, which say nothing our description does not. */
const filler = /^This (setting|option|argument) /

interface Entry {
  readonly name: string
  readonly description: ReadonlyArray<string>
}

interface Sections {
  description: Array<string>
  arguments: Array<Entry>
  options: Array<Entry>
}

/**
 * The sections of @effect/cli's help of one command. A flag's block starts
 * with the parser's text for its type ("A file.") and ends with its remarks
 * ("This setting is optional."); what is between is our description.
 */
const sections = (doc: HelpDoc.HelpDoc): Sections => {
  const result: Sections = { description: [], arguments: [], options: [] }
  let current: "description" | "arguments" | "options" | undefined
  const visit = (d: HelpDoc.HelpDoc): void =>
    Match.valueTags(d, {
      Empty: () => {},
      Header: (h) => {
        const title = spanText(h.value).trim()
        current = title === "DESCRIPTION"
          ? "description"
          : title === "ARGUMENTS"
          ? "arguments"
          : title === "OPTIONS"
          ? "options"
          : undefined
      },
      Paragraph: (p) => {
        if (current === "description") result.description.push(spanText(p.value))
      },
      DescriptionList: (list) => {
        if (current !== "arguments" && current !== "options") return
        for (const [span, block] of list.definitions) {
          if (builtIn.test(spanText(span))) continue
          const [, ...ours] = paragraphs(block)
          result[current].push({ name: spanText(span), description: ours.filter((line) => !filler.test(line)) })
        }
      },
      Enumeration: (e) => e.elements.forEach(visit),
      Sequence: (s) => {
        visit(s.left)
        visit(s.right)
      }
    })
  visit(doc)
  return result
}

/** Words wrapped to `width`, each line after the first indented by `indent`. */
const wrap = (text: string, width: number, indent: number): string => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width - indent) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  if (line !== "") lines.push(line)
  return lines.join("\n" + " ".repeat(indent))
}

/** A table of names and descriptions. */
const table = (entries: ReadonlyArray<Entry>, width: number): Array<string> => {
  const column = Math.min(24, Math.max(...entries.map((e) => e.name.length)) + 2)
  return entries.map((e) => {
    const text = wrap(e.description.join(" "), width, column + 2)
    return e.name.length + 2 > column
      ? `  ${e.name}\n${" ".repeat(column + 2)}${text}`
      : `  ${e.name.padEnd(column)}${text}`
  })
}

/** How the help looks: colour (bold headings) and width. */
export interface Style {
  readonly color: boolean
  readonly width: number
}

const heading = (style: Style, text: string) => style.color ? `\x1b[1m${text}\x1b[0m` : text

/** The usage line of a command, after `qoery `. */
const usageOf = (command: AnyCommand): string =>
  Usage.enumerate(Command.getUsage(command), config).map(spanText).map((s) => s.trim())[0] ?? ""

/** The words of a usage line: the name, the arguments (`<search>`) and the flags (`[--out FILE]`). */
const usageParts = (usage: string) => {
  const tokens = usage.match(/\[[^\]]*\]|<[^>]*>|\S+/g) ?? []
  return {
    name: tokens[0] ?? "",
    args: tokens.filter((t) => t.startsWith("<")),
    flags: tokens.slice(1).filter((t) => t.startsWith("["))
  }
}

/** `run <search> [--out FILE] ...`: the arguments before the flags, as a command's usage reads. */
const argumentsFirst = (usage: string): string => {
  const { args, flags, name } = usageParts(usage)
  return [name, ...args, ...flags].join(" ")
}

const helpFlag: Entry = { name: "-h, --help", description: ["Show this help."] }

/** The help of one command, e.g. `qoery run --help`. */
export const command = (self: AnyCommand, style: Style): string => {
  const s = sections(Command.getHelp(self, config))
  const lines = [`qoery ${argumentsFirst(usageOf(self))}`, ""]
  for (const p of s.description) lines.push(wrap(p, style.width, 0), "")
  if (s.arguments.length > 0) lines.push(heading(style, "Arguments:"), ...table(s.arguments, style.width), "")
  lines.push(heading(style, "Options:"), ...table([...s.options, helpFlag], style.width))
  return lines.join("\n") + "\n"
}

/** The help of `qoery` itself: its commands and the flags every command takes. */
export const root = (self: AnyCommand, commands: ReadonlyArray<AnyCommand>, style: Style): string => {
  const s = sections(Command.getHelp(self, config))
  const [summary, ...rest] = s.description
  const entries = commands.map((c): Entry => {
    const { args, name } = usageParts(usageOf(c))
    const usage = [name, ...args].join(" ")
    const first = sections(Command.getHelp(c, config)).description[0] ?? ""
    return { name: usage, description: [first.split(/(?<=\.)\s/)[0] ?? first] }
  })
  const lines = ["qoery <command> [options]", ""]
  if (summary !== undefined) lines.push(wrap(summary, style.width, 0), "")
  for (const p of rest) lines.push(wrap(p, style.width, 0), "")
  lines.push(heading(style, "Commands:"), ...table(entries, style.width), "")
  lines.push(
    heading(style, "Options:"),
    ...table([
      { name: "-h, --help", description: ["Show this help; `qoery <command> --help` shows a command's."] },
      { name: "--version", description: ["Print the version."] },
      { name: "--completions SHELL", description: ["Print a completion script for sh, bash, fish or zsh."] }
    ], style.width),
    "",
    wrap(
      "Exit codes: 0 done, 1 the job ended in error, 2 usage error, 3 API or network error, 4 --timeout, 130 interrupted.",
      style.width,
      0
    )
  )
  return lines.join("\n") + "\n"
}

/** The name of the command closest to `typed`, when one is close enough to be what was meant. */
export const didYouMean = (typed: string, names: ReadonlyArray<string>): string | undefined => {
  const ranked = names.map((name) => [AutoCorrect.levensteinDistance(typed, name, config), name] as const)
    .sort((a, b) => a[0] - b[0])
  const best = ranked[0]
  return best !== undefined && best[0] <= Math.max(2, Math.floor(typed.length / 3)) ? best[1] : undefined
}
