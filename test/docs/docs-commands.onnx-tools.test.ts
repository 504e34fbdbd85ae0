import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("docs/onnx-tools.md");
