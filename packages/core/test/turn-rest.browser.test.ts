/** TURN REST credentials in a browser (Chromium, Firefox): the suite of `turn-rest.suite.ts`. */
import { runTurnRestTests } from './turn-rest.suite.ts'

runTurnRestTests('browser')
