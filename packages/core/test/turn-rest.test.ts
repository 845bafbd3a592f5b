/** TURN REST credentials in Node: the suite of `turn-rest.suite.ts`. */
import { runTurnRestTests } from './turn-rest.suite.ts'

runTurnRestTests('Node')
