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
import * as Descriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as Usage from "@effect/cli/Usage"
import * as HashMap from "effect/HashMap"
import * as Match from "effect/Match"
import * as Option from "effect/Option"

/** A command's descriptor: its name, flags, arguments and subcommands. */
export type AnyDescriptor = Descriptor.Command<unknown>

/** The name of a command. */
export const nameOf = (d: AnyDescriptor): string => [...Descriptor.getNames(d)][0] ?? ""

/** The subcommands of a command, in the order they were given (the order of its help's COMMANDS). */
export const subcommandsOf = (d: AnyDescriptor): ReadonlyArray<AnyDescriptor> => {
  const byName = Descriptor.getSubcommands(d)
  const ordered = sections(Descriptor.getHelp(d, config)).commands.map((e) => e.name.split(" ")[0] ?? "")
  const names = [...new Set([...ordered, ...HashMap.keys(byName)])]
  // A command without subcommands is its own only entry there.
  return names.filter((name) => name !== nameOf(d)).flatMap((name) => Option.toArray(HashMap.get(byName, name)))
}

/**
 * The command the leading words of `args` name (`batch run` in `qoery batch
 * run --help`) among `top` (the commands under `qoery`), with its path.
 */
export const resolvePath = (top: ReadonlyArray<AnyDescriptor>, args: ReadonlyArray<string>) => {
  let level = top
  let current: AnyDescriptor | undefined
  const path: Array<string> = []
  for (const word of args) {
    const next = level.find((d) => nameOf(d) === word)
    if (next === undefined) break
    current = next
    level = subcommandsOf(next)
    path.push(word)
  }
  return { descriptor: current, path }
}

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
  commands: Array<Entry>
}

/**
 * The sections of @effect/cli's help of one command. A flag's block starts
 * with the parser's text for its type ("A file.") and ends with its remarks
 * ("This setting is optional."); what is between is our description.
 */
const sections = (doc: HelpDoc.HelpDoc): Sections => {
  const result: Sections = { description: [], arguments: [], options: [], commands: [] }
  let current: "description" | "arguments" | "options" | "commands" | undefined
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
          : title === "COMMANDS"
          ? "commands"
          : undefined
      },
      Paragraph: (p) => {
        if (current === "description") result.description.push(spanText(p.value))
        // A subcommand's line: its usage, then its description; the first word is its name.
        if (current === "commands") result.commands.push({ name: spanText(p.value).trim(), description: [] })
      },
      DescriptionList: (list) => {
        if (current === undefined || current === "description") return
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
const usageOf = (d: AnyDescriptor): string =>
  Usage.enumerate(Descriptor.getUsage(d), config).map(spanText).map((s) => s.trim())[0] ?? ""

/**
 * The words of a usage line: the name, the arguments (`<search>`), the
 * required flags with their value (`--out DIR`) and the optional ones
 * (`[--out FILE]`).
 */
const usageParts = (usage: string) => {
  const tokens = usage.match(/\[[^\]]*\]|<[^>]*>|\S+/g) ?? []
  const required: Array<string> = []
  tokens.forEach((token, i) => {
    if (!token.startsWith("--")) return
    const value = tokens[i + 1]
    required.push(value !== undefined && /^[A-Z]/.test(value) ? `${token} ${value}` : token)
  })
  return {
    name: tokens[0] ?? "",
    args: tokens.filter((t) => t.startsWith("<")),
    required,
    flags: tokens.slice(1).filter((t) => t.startsWith("["))
  }
}

/** `run <search> [--out FILE] ...`: the arguments before the flags, as a command's usage reads. */
const argumentsFirst = (usage: string): string => {
  const { args, flags, name, required } = usageParts(usage)
  return [name, ...args, ...required, ...flags].join(" ")
}

const helpFlag: Entry = { name: "-h, --help", description: ["Show this help."] }

/** The table of a command's subcommands: `run <search>` and the first sentence of its description. */
const commandTable = (commands: ReadonlyArray<AnyDescriptor>, style: Style) =>
  table(
    commands.map((c): Entry => {
      const { args, name } = usageParts(usageOf(c))
      const first = sections(Descriptor.getHelp(c, config)).description[0] ?? ""
      return { name: [name, ...args].join(" "), description: [first.split(/(?<=\.)\s/)[0] ?? first] }
    }),
    style.width
  )

/**
 * The help of one command, e.g. `qoery run --help`, or of a command with
 * subcommands (`qoery batch --help`); `path` is its place under `qoery`.
 */
export const command = (self: AnyDescriptor, path: ReadonlyArray<string>, style: Style): string => {
  const s = sections(Descriptor.getHelp(self, config))
  const subcommands = subcommandsOf(self)
  const parent = path.slice(0, -1).map((p) => `${p} `).join("")
  const usage = subcommands.length > 0
    ? `qoery ${path.join(" ")} <command> [options]`
    : `qoery ${parent}${argumentsFirst(usageOf(self))}`
  const lines = [usage, ""]
  for (const p of s.description) lines.push(wrap(p, style.width, 0), "")
  if (subcommands.length > 0) lines.push(heading(style, "Commands:"), ...commandTable(subcommands, style), "")
  if (s.arguments.length > 0) lines.push(heading(style, "Arguments:"), ...table(s.arguments, style.width), "")
  lines.push(heading(style, "Options:"), ...table([...s.options, helpFlag], style.width))
  if (subcommands.length > 0) lines.push("", `Run \`qoery ${path.join(" ")} <command> --help\` for a command's flags.`)
  return lines.join("\n") + "\n"
}

/** The help of `qoery` itself: its commands and the flags every command takes. */
export const root = (self: AnyDescriptor, commands: ReadonlyArray<AnyDescriptor>, style: Style): string => {
  const s = sections(Descriptor.getHelp(self, config))
  const lines = ["qoery <command> [options]", ""]
  for (const p of s.description) lines.push(wrap(p, style.width, 0), "")
  lines.push(heading(style, "Commands:"), ...commandTable(commands, style), "")
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
