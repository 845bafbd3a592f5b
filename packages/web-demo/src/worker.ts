/**
 * The session host Worker of the page: channels, envelope signing and strict verification, and
 * the sessions' inboxes run here, off the main thread (`createBrowserWorkerSessionHost`).
 */
import '@conclave/core/worker'
