// TEMPORARY (issue #18): the session host Worker of join-room.js; the front door brings its own.
import '@conclave/core/worker'
