/** What the emulator generated, in the shapes the client gives it back. */
import { DatasetCsv } from "@effect-qoery/client"
import { Dataset } from "@effect-qoery/emulator"

/** The first `count` rows the emulator generates for a query, as `DatasetCsv.rows` gives them. */
export const expectedRows = (query: string, count: number): Array<DatasetCsv.CsvRow> =>
  Dataset.rows(query).slice(0, count).map((row) => ({
    url: row.url,
    title: row.title,
    value: DatasetCsv.parseValue(row.value),
    dimension: row.dimension,
    extra: {},
    ...(row.timestamp === "" ? {} : { timestamp: row.timestamp })
  }))
