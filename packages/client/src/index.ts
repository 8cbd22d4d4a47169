/**
 * @since 0.1.0
 */
export * as DatasetCsv from "./DatasetCsv.js"

/**
 * @since 0.1.0
 */
export * as JobId from "./JobId.js"

/**
 * @since 0.1.0
 */
export * as JobStatus from "./JobStatus.js"

/**
 * @since 0.1.0
 */
export * as Payloads from "./Payloads.js"

/**
 * @since 0.1.0
 */
export * as QoeryClient from "./QoeryClient.js"

/**
 * @since 0.1.0
 */
export * as QoeryError from "./QoeryError.js"

/**
 * @since 0.1.0
 */
export * as JobWatcher from "./JobWatcher.js"

/**
 * @since 0.1.0
 */
export * as JobWatcherError from "./JobWatcherError.js"
