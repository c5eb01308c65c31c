// uPlot and its stylesheet, loaded on demand (a separate chunk): an idle dashboard with no
// stream does not pay for the charting library.
import "../locale"; // before uPlot: it reads navigator.language as it loads
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export default uPlot;
