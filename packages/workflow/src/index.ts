/**
 * @since 0.1.0
 */
export * as CsvStore from "./CsvStore.js"

/**
 * @since 0.1.0
 */
export * as DatasetEngine from "./DatasetEngine.js"

/**
 * @since 0.1.0
 */
export * as DatasetError from "./DatasetError.js"

/**
 * @since 0.1.0
 */
export * as DatasetWorkflow from "./DatasetWorkflow.js"
